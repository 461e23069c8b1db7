import Foundation
import Testing
@testable import KubeModel

/// `JSONParser.Retention.admissionReview`: managedFields of the reviewed objects is dropped, and
/// only there; what is dropped is still checked as strictly as what is kept.
@Suite struct AdmissionReviewRetentionTests {
    static let managed = #"[{"manager":"kubectl","operation":"Update","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}},"time":"2026-11-20T10:00:00Z"}]"#

    static func review(object: String, oldObject: String = "null") -> String {
        #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"ConfigMap"},"operation":"UPDATE","object":\#(object),"oldObject":\#(oldObject)}}"#
    }

    @Test func dropsManagedFieldsOfObjectAndOldObject() throws {
        let object = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","managedFields":\#(Self.managed),"labels":{"x":"y"}}}"#
        let request = try AdmissionReview.decodeRequest(from: Data(Self.review(object: object, oldObject: object).utf8))
        for value in [request.object, request.oldObject] {
            let metadata = try #require(value?["metadata"])
            #expect(metadata["managedFields"] == nil)
            #expect(metadata["name"] == .string("a"))
            #expect(metadata["labels"]?["x"] == .string("y"))
        }
    }

    @Test func keepsManagedFieldsAnywhereElse() throws {
        let object = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","annotations":{"managedFields":"kept"}},"data":{"managedFields":"kept"},"spec":{"metadata":{"managedFields":[1]}}}"#
        let request = try AdmissionReview.decodeRequest(from: Data(Self.review(object: object).utf8))
        #expect(request.object?["metadata"]?["annotations"]?["managedFields"] == .string("kept"))
        #expect(request.object?["data"]?["managedFields"] == .string("kept"))
        #expect(request.object?["spec"]?["metadata"]?["managedFields"] == .array([.integer(1)]))
        // A plain parse keeps everything.
        let full = try JSONParser.parse(Data(Self.review(object: #"{"metadata":{"managedFields":[1]}}"#).utf8))
        #expect(full["request"]?["object"]?["metadata"]?["managedFields"] == .array([.integer(1)]))
    }

    @Test(arguments: [
        #"[{"a":1,}]"#, #"[tru]"#, #"["\x"]"#, #"["\ud83d"]"#, "[\"a\u{01}\"]", #"[1 2]"#, #"{"a" 1}"#, #"[01]"#, #"["#,
    ])
    func skippedValuesAreStillValidated(managedFields: String) {
        let object = #"{"metadata":{"managedFields":\#(managedFields)}}"#
        #expect(throws: AdmissionReviewDecodingError.self) {
            try AdmissionReview.decodeRequest(from: Data(Self.review(object: object).utf8))
        }
    }

    @Test func skippedStringsAreCheckedForUTF8() {
        var body = Array(Self.review(object: #"{"metadata":{"managedFields":["ok é","XX"]}}"#).utf8)
        let marker = body.firstIndex(of: UInt8(ascii: "X"))!
        body[marker] = 0xFF
        #expect(throws: AdmissionReviewDecodingError.self) { try AdmissionReview.decodeRequest(from: Data(body)) }
        body[marker] = UInt8(ascii: "Y")
        #expect((try? AdmissionReview.decodeRequest(from: Data(body))) != nil)
    }

    @Test func skippedValuesAreDepthBounded() {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect(throws: AdmissionReviewDecodingError.self) {
            try AdmissionReview.decodeRequest(from: Data(Self.review(object: #"{"metadata":{"managedFields":\#(deep)}}"#).utf8))
        }
    }

    @Test func bytesAndDataDecodeAlike() throws {
        let body = Data(Self.review(object: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#).utf8)
        let viaBytes = try body.withUnsafeBytes { try AdmissionReview.decodeRequest(bytes: $0) }
        #expect(viaBytes == (try AdmissionReview.decodeRequest(from: body)))
    }

    @Test(arguments: [
        ("999999999999999999", JSONValue.integer(999_999_999_999_999_999)),
        ("-999999999999999999", .integer(-999_999_999_999_999_999)),
        ("1000000000000000000", .integer(1_000_000_000_000_000_000)),
        ("-9223372036854775808", .integer(Int64.min)),
        ("-9223372036854775809", .number(-0x1p63)),  // the nearest Double
        ("0", .integer(0)), ("-7", .integer(-7)), ("120", .integer(120)),
    ])
    func integersKeepTheirExactValue(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(Data(text.utf8)) == expected)
    }
}

/// What is skipped is refused exactly as what is kept: for valid values and values broken at every
/// kind of place, a review with the value as `managedFields` (skipped) fails where the same review
/// parsed whole fails, with the same reason, or neither fails.
@Suite struct SkippedValueAgreementTests {
    static func review(_ managedFields: String) -> Data {
        Data(AdmissionReviewRetentionTests.review(object: #"{"metadata":{"name":"a","managedFields":\#(managedFields)}}"#).utf8)
    }

    static func agree(_ value: String) {
        let body = review(value)
        let whole = Result { () throws(JSONParser.SyntaxError) in try JSONParser.parse(body) }
        let skipped = Result { () throws(JSONParser.SyntaxError) in try JSONParser.parse(body, retaining: .admissionReview) }
        switch (whole, skipped) {
        case (.success, .success): break
        case (.failure(let kept), .failure(let dropped)):
            #expect(kept.offset == dropped.offset, "\(value)")
            #expect(kept.reason == dropped.reason, "\(value)")
        default:
            Issue.record("skipping and parsing disagree on \(value)")
        }
    }

    @Test func generatedValuesAndTheirBreakagesAgree() throws {
        var generator = SplitMix(seed: 42)
        for round in 0..<60 {
            let value = JSONParserScanTests.randomValue(depth: 0, width: 1 + round % 6, generator: &generator)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: ["v": value]), as: UTF8.self)
            Self.agree(text)
            var bytes = Array(text.utf8)
            let position = Int(generator.next() % UInt64(bytes.count))
            let breakers: [UInt8] = Array(#"{}[],:" \1-e.t"#.utf8) + [0x01, 0xFF]
            let breaker = breakers[Int(generator.next() % UInt64(breakers.count))]
            switch generator.next() % 3 {
            case 0: bytes[position] = breaker
            case 1: bytes.insert(breaker, at: position)
            default: bytes.remove(at: position)
            }
            Self.agree(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test(arguments: [
        "[]", "{}", "[{}]", #"[{"a":[]}]"#, " [ 1 , { \"a\" : null } ] ", "[1,]", "[,1]", "{,}", #"{"a":1,}"#, #"{"a"}"#,
        #"{"a":}"#, "[1}", #"{"a":1]"#, "[\"\\u12\"]", "[-]", "[1.]", "[1e]", "[nul]", "[\"a\"", "[[[[", "{\"a\":{\"b\":",
    ])
    func edgeValuesAgree(value: String) {
        Self.agree(value)
    }

    /// Nesting up to the bound is accepted and one more is refused, the same at the same byte.
    @Test func depthBoundAgrees() {
        // The value sits at depth 4 (review, request, object, metadata); arrays inside it add to that.
        for depth in (JSONParser.maximumDepth - 6)...(JSONParser.maximumDepth - 2) {
            for value in [String(repeating: "[", count: depth) + String(repeating: "]", count: depth),
                          String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)] {
                Self.agree(value)
                let accepted = (try? JSONParser.parse(Self.review(value), retaining: .admissionReview)) != nil
                #expect(accepted == (4 + depth <= JSONParser.maximumDepth), "\(depth) levels inside the metadata")
            }
        }
    }
}
