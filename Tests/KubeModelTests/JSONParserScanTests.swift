import Foundation
import Testing
@testable import KubeModel

/// The parser's string fast paths: the eight-bytes-at-a-time scan, the remembered short strings, and
/// the work space it keeps for the objects and arrays still open. Each is checked where its edges
/// are: every position of a special byte within and across eight-byte words, strings at the very
/// end of the input, strings that share their first or last eight bytes, and a parse that fails
/// with many items still open.
@Suite struct JSONParserScanTests {
    /// Offsets in the body where a string may start: the word scan reads at any alignment.
    static let prefixes = ["", " ", "  ", "   ", "       "]

    @Test(arguments: 0..<26)
    func specialByteAtEveryPositionIsFound(position: Int) throws {
        for prefix in Self.prefixes {
            let before = String(repeating: "a", count: position)
            let after = String(repeating: "b", count: 25 - position)
            // An escape at `position`.
            let escaped = try JSONParser.parse(Data("\(prefix)\"\(before)\\n\(after)\"".utf8))
            #expect(escaped == .string(before + "\n" + after))
            // The closing quote at `position`: the string ends there.
            #expect(try JSONParser.parse(Data("\(prefix)[\"\(before)\",1]".utf8)) == .array([.string(before), .integer(1)]))
            // A raw control character at `position` is refused where it is.
            let control = Data("\(prefix)\"\(before)\u{1F}\(after)\"".utf8)
            let error = #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(control) }
            #expect(error?.offset == prefix.utf8.count + 1 + position)
            #expect(error?.reason == "control character in string")
            // A two-byte character at `position` is kept; a stray continuation byte is refused.
            #expect(try JSONParser.parse(Data("\(prefix)\"\(before)é\(after)\"".utf8)) == .string(before + "é" + after))
            var invalid = Data("\(prefix)\"\(before)".utf8)
            invalid.append(0x80)
            invalid.append(contentsOf: Data("\(after)\"".utf8))
            #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(invalid) }
            // The same in a skipped `managedFields` value, which is checked without being built.
            let skipped = Data(#"{"request":{"object":{"metadata":{"managedFields":"\#(before)\#u{1F}\#(after)"}}}}"#.utf8)
            #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(skipped, retaining: .admissionReview) }
        }
    }

    /// A non-ASCII byte after the special one in the same word does not make the string non-ASCII,
    /// and one before it does (and is validated).
    @Test func highBitsAreCountedOnlyBeforeTheStop() throws {
        #expect(try JSONParser.parse(Data(#"["ab","é"]"#.utf8)) == .array([.string("ab"), .string("é")]))
        var body = Data(#"["a"#.utf8)
        body.append(contentsOf: [0xC3, 0x28])  // an invalid two-byte sequence right before the quote
        body.append(contentsOf: Data(#"",1]"#.utf8))
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(body) }
    }

    /// Strings that end in the last bytes of the input, with fewer than eight bytes left to read.
    @Test(arguments: 0..<10)
    func stringAtTheEndOfTheInput(length: Int) throws {
        let text = String(repeating: "z", count: length)
        #expect(try JSONParser.parse(Data("\"\(text)\"".utf8)) == .string(text))
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Data("\"\(text)".utf8)) }
    }

    /// Remembered strings are told apart by every byte: strings of the same length that differ in
    /// one byte only (first, middle or last of 1 to 16 bytes), repeated so each is also found again.
    @Test func rememberedStringsAreExact() throws {
        var strings: [String] = []
        for length in 1...18 {
            let base = Array(repeating: UInt8(ascii: "k"), count: length)
            for position in Set([0, length / 2, length - 1]) {
                var bytes = base
                bytes[position] = UInt8(ascii: "q")
                strings.append(String(decoding: bytes, as: UTF8.self))
            }
            strings.append(String(decoding: base, as: UTF8.self))
        }
        // Many strings sharing their length and first eight bytes, so some share a slot.
        for number in 0..<100 { strings.append("samehead" + String(1000 + number)) }
        let document = strings + strings.reversed() + strings
        let text = "[" + document.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        #expect(try JSONParser.parse(Data(text.utf8)) == .array(document.map { .string($0) }))
        let object = "{" + strings.enumerated().map { "\"\($1)\":\"\(strings[(($0) + 1) % strings.count])\"" }.joined(separator: ",") + "}"
        let parsed = try JSONParser.parse(Data(object.utf8))
        for (index, name) in strings.enumerated() {
            #expect(parsed[name] == .string(strings[(index + 1) % strings.count]))
        }
    }

    /// Large and nested documents come out as Foundation's decoder reads them: the item stacks grow
    /// past their first allocation and give every object and array back its own items.
    @Test(arguments: [1, 12, 64])
    func nestedDocumentsMatchFoundation(width: Int) throws {
        var generator = SplitMix(seed: UInt64(width))
        let document = ["items": (0..<4).map { _ in Self.randomValue(depth: 0, width: width, generator: &generator) }]
        let text = try JSONSerialization.data(withJSONObject: document)
        #expect(try JSONParser.parse(text) == JSONDecoder().decode(JSONValue.self, from: text))
    }

    /// A parse that fails with many objects and arrays open reports the error, and frees what it had
    /// collected (the work space is released whether the parse returns or throws).
    @Test func failingParseWithManyOpenItemsThrows() {
        let open = String(repeating: #"{"a":1,"b":[1,2,"three",{"c":"#, count: 100)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Data((open + "!").utf8)) }
    }

    static func randomValue(depth: Int, width: Int, generator: inout SplitMix) -> Any {
        let names = ["name", "path", "pathType", "backend", "service", "port", "number", "a-much-longer-member-name", "é"]
        if depth >= 3 { return names[Int(generator.next() % UInt64(names.count))] }
        switch generator.next() % 3 {
        case 0:
            var object: [String: Any] = [:]
            for index in 0..<width {
                object["\(names[index % names.count])\(index / names.count)"] = randomValue(depth: depth + 1, width: max(1, width / 4), generator: &generator)
            }
            return object
        case 1:
            return (0..<width).map { _ in randomValue(depth: depth + 1, width: max(1, width / 4), generator: &generator) }
        default:
            return Int(generator.next() % 1000)
        }
    }
}

/// A small seeded generator, so a failing document can be made again.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
