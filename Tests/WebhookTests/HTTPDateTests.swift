import Foundation
import Testing
@testable import Webhook

@Suite struct HTTPDateTests {
    /// The `Date` header matches Foundation's formatting of the same second, across dates.
    @Test(arguments: [0, 951_782_400, 1_764_628_490, 4_107_542_399, -86_401])
    func httpDateMatchesFoundation(seconds: Int) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(HTTPDate.format(secondsSince1970: seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }
}
