import Base64Codec
import Foundation
import Testing

/// `GoBase64` decodes what Go's `base64.StdEncoding` decodes (the API server's Secret data) and
/// refuses what it refuses.
@Suite struct GoBase64Tests {
    @Test(arguments: [
        ("", ""), ("YQ==", "a"), ("YWI=", "ab"), ("YWJj", "abc"), ("YWJjZA==", "abcd"),
        ("YW\nJj", "abc"), ("YWJj\r\n", "abc"), ("\nY\rW\nJ\nj\n", "abc"), ("YQ=\n=", "a"),
        // Go's default decoder ignores bits left over in the last character ('R' = 010001).
        ("YR==", "a"),
    ])
    func decodes(_ text: String, _ expected: String) {
        #expect(GoBase64.decode(text) == Array(expected.utf8), "\(text)")
    }

    @Test(arguments: ["YWJ", "Y", "Y===", "=", "====", "YQ=", "YQ===", "YQ==YQ==", "YWJj=", "ab!c", "****", "YW Jj",
                      "YWJj\t", "YQ==\u{0}", "é", "YW-j", "YW_j"])
    func refuses(_ text: String) {
        #expect(GoBase64.decode(text) == nil, "\(text)")
    }

    /// Every byte value, every length mod 3, against Foundation's encoder.
    @Test func roundTripsFoundationsEncoding() {
        for length in 0..<64 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            let encoded = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            #expect(GoBase64.decode(encoded) == bytes)
        }
        let all = (0...255).map(UInt8.init)
        #expect(GoBase64.decode(Data(all).base64EncodedString()) == all)
    }
}
