import Foundation
import Testing
@testable import KubeModel

/// `JSONObject`: members in document order, the last of a repeated name wins (Go's
/// encoding/json), equality regardless of order, and the name index above the threshold.
@Suite struct JSONObjectTests {
    static func parse(_ text: String) throws -> JSONObject {
        try #require(JSONParser.parse(Data(text.utf8)).objectValue)
    }

    @Test func membersKeepDocumentOrder() throws {
        let object = try Self.parse(#"{"b": 1, "a": 2, "c": 3}"#)
        #expect(object.keys == ["b", "a", "c"])
        #expect(object["a"] == .integer(2))
        #expect(object["z"] == nil)
    }

    @Test(arguments: [3, JSONObject.indexThreshold + 5])
    func aRepeatedNameKeepsTheLastValue(_ size: Int) throws {
        let members = (0..<size).map { #""k\#($0)": \#($0)"# } + [#""k1": "last""#]
        let object = try Self.parse("{" + members.joined(separator: ",") + "}")
        #expect(object.count == size)
        #expect(object["k1"] == .string("last"))
        #expect(object.keys.first == "k0" && object.keys[1] == "k1")
        #expect(object["k\(size - 1)"] == .integer(Int64(size - 1)))
    }

    /// The parser skips the pairwise check when it has seen every name's bytes differ; a name it
    /// cannot vouch for (long, escaped, non-ASCII) still gets the check, so every way of repeating
    /// a name keeps the last value, as Swift compares names.
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "a"),
        (#"{"a-name-longer-than-sixteen":1,"b":0,"a-name-longer-than-sixteen":2}"#, "a-name-longer-than-sixteen"),
        (#"{"a":1,"\u0061":2}"#, "a"),
        (#"{"\u0061":1,"a":2}"#, "a"),
        ("{\"caf\u{E9}\":1,\"caf\u{E9}\":2}", "caf\u{E9}"),
    ])
    func everyKindOfRepeatedNameIsFound(text: String, name: String) throws {
        let object = try Self.parse(text)
        #expect(Set(object.keys).count == object.count)
        #expect(object[name] == .integer(2))
    }

    /// Names that differ in their bytes are different members, as in Go's encoding/json, even when
    /// Swift would call them equal (a precomposed and a decomposed `é`).
    @Test func namesAreTheirBytes() throws {
        let object = try Self.parse("{\"caf\u{E9}\":1,\"cafe\u{301}\":2}")
        #expect(object.count == 2)
        #expect(object["caf\u{E9}"] == .integer(1))
        #expect(object["cafe\u{301}"] == .integer(2))
    }

    /// Distinct short names that share a remembered-string slot (about one pair in 120 does) are
    /// still two members.
    @Test func distinctNamesStayDistinct() throws {
        var generator = SplitMix(seed: 3)
        func name() -> String { String((0..<(1 + Int(generator.next() % 12))).map { _ in Character(Unicode.Scalar(UInt8(97 + generator.next() % 26))) }) }
        for _ in 0..<3000 {
            let (first, second) = (name(), name())
            let object = try Self.parse(#"{"\#(first)":1,"\#(second)":2}"#)
            #expect(object.count == (first == second ? 1 : 2))
            #expect(object[second] == .integer(2))
            if first != second { #expect(object[first] == .integer(1)) }
        }
    }

    @Test func equalityAndHashIgnoreOrder() throws {
        let a = try Self.parse(#"{"x": [1, {"p": true, "q": null}], "y": "s"}"#)
        let b = try Self.parse(#"{"y": "s", "x": [1, {"q": null, "p": true}]}"#)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != (try Self.parse(#"{"y": "s", "x": [1, {"q": null, "p": false}]}"#)))
        #expect(a != (try Self.parse(#"{"y": "s"}"#)))
    }

    /// Setting and removing members across the index threshold keeps lookups right both ways.
    @Test func editsAcrossTheIndexThreshold() {
        var object = JSONObject()
        let size = JSONObject.indexThreshold * 2
        for i in 0..<size { object["m\(i)"] = .integer(Int64(i)) }
        #expect(object.count == size)
        for i in 0..<size { #expect(object["m\(i)"] == .integer(Int64(i))) }
        for i in stride(from: 0, to: size, by: 2) { object["m\(i)"] = nil }
        #expect(object.count == size / 2)
        #expect(object["m0"] == nil && object["m1"] == .integer(1) && object["m\(size - 1)"] == .integer(Int64(size - 1)))
        object["m1"] = .string("changed")
        #expect(object["m1"] == .string("changed") && object.keys.first == "m1")
        let kept = object.filter { $0.key.hasSuffix("1") }
        #expect(kept.keys == kept.keys.filter { $0.hasSuffix("1") } && kept["m1"] == .string("changed"))
    }

    @Test func dictionaryRoundTrip() {
        let dictionary: [String: JSONValue] = ["b": .bool(true), "a": .null, "c": .array([])]
        let object = JSONObject(dictionary)
        #expect(object.keys == ["a", "b", "c"])
        #expect(object.dictionary == dictionary)
    }
}
