import Testing
@testable import KubeModel

/// The byte-level text helpers the rules use on every finding: they must agree with the plain
/// definitions they replace.
@Suite struct TextBuildingTests {
    static let pieces = ["", "a", "metadata.annotations[", "nginx.org/policies", "]", "é", "🙂", "x\u{301}",
                         String(repeating: "long-", count: 40), "\"", "Not found: ", "15-bytes-exact!", "16-bytes-exact!!"]

    @Test func concatenationIsJoined() {
        var generator = SplitMix(seed: 7)
        for count in 0..<40 {
            let parts = (0..<(count % 9)).map { _ in Self.pieces[Int(generator.next() % UInt64(Self.pieces.count))] }
            let built = String(concatenating: parts)
            #expect(built == parts.joined())
            #expect(built.utf8.count == parts.reduce(0) { $0 + $1.utf8.count })
        }
        // Parts that are slices of other strings, and the variadic form.
        let source = "namespace/name"
        let parts = source.split(separator: "/").map(String.init)
        #expect(String(concatenating: parts[0], "/", parts[1]) == source)
        #expect(String(concatenating: "") == "")
    }

    @Test func printableASCIIIsTheRangeFromSpaceToTilde() {
        for value in UInt32(0)...0x17F {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "ab" + String(Character(scalar)) + "cdefghijklmnopq"
            #expect(PrintableASCII.only(text) == (0x20...0x7E).contains(value), "U+\(String(value, radix: 16))")
            #expect(PrintableASCII.only(String(Character(scalar))) == (0x20...0x7E).contains(value))
        }
        #expect(PrintableASCII.only(""))
        #expect(!PrintableASCII.only("plain \"quoted\"", excluding: [UInt8(ascii: "\"")]))
        #expect(PrintableASCII.only("plain", excluding: [UInt8(ascii: "\"")]))
    }
}
