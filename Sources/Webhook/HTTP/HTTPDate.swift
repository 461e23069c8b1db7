/// The `Date` header (RFC 9110 IMF-fixdate, `Tue, 01 Dec 2026 22:34:50 GMT`), formatted once per
/// second.
struct HTTPDate {
    private var second = Int.min
    private var text = ""

    mutating func now() -> String {
        // The clock alone per answer; the calendar fields (`gmtime_r`) once per second.
        let current = UTCTime.currentSecond()
        guard current != second else { return text }
        second = current
        text = Self.format(UTCTime(secondsSince1970: current))
        return text
    }

    static func format(secondsSince1970 seconds: Int) -> String { format(UTCTime(secondsSince1970: seconds)) }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func format(_ time: UTCTime) -> String {
        let two = { (value: Int) in UTCTime.padded(value, 2) }
        return "\(weekdays[time.weekday % 7]), \(two(time.day)) \(months[(time.month - 1) % 12]) \(time.year) "
            + "\(two(time.hour)):\(two(time.minute)):\(two(time.second)) GMT"
    }
}
