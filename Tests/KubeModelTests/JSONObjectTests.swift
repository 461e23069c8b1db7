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
