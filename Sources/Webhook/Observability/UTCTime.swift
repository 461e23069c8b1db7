import Foundation

/// A UTC time in calendar fields, from the C library (`clock_gettime`, `gmtime_r`): the log's
/// timestamps and the HTTP `Date` header are formatted from it, thousands of times a second, where
/// `Date.formatted` cost microseconds.
struct UTCTime {
    let secondsSince1970: Int
    let millisecond: Int
    let year: Int
    /// 1–12.
    let month: Int
    let day: Int
    let hour: Int
    let minute: Int
    let second: Int
    /// 0 is Sunday.
    let weekday: Int

    static func now() -> UTCTime {
        let now = clock()
        return UTCTime(secondsSince1970: Int(now.tv_sec), millisecond: Int(now.tv_nsec / 1_000_000))
    }

    /// The current second since 1970, without the calendar fields.
    static func currentSecond() -> Int {
        Int(clock().tv_sec)
    }

    private static func clock() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }

    init(secondsSince1970: Int, millisecond: Int = 0) {
        var seconds = time_t(secondsSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        self.secondsSince1970 = secondsSince1970
        self.millisecond = millisecond
        year = Int(parts.tm_year) + 1900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        weekday = Int(parts.tm_wday)
    }

    /// `value` in at least `width` digits, zero-padded.
    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
