import Foundation
import Testing
@testable import KubeModel

@Suite struct JSONParserTests {
    @Test(arguments: [
        (#"{"a":1,"b":[true,false,null],"c":"x"}"#, JSONValue.object(["a": .integer(1), "b": .array([.bool(true), .bool(false), .null]), "c": .string("x")])),
        (#"  [ ]  "#, .array([])),
        (#"{}"#, .object([:])),
        (#"-0"#, .integer(0)),
        (#"1.5e3"#, .number(1500)),
        (#"-12.25"#, .number(-12.25)),
        (#"9223372036854775807"#, .integer(Int64.max)),
        (#"9223372036854775808"#, .number(9223372036854775808)),
        (#""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{8}\u{c}\n\r\t")),
        (#""\u00e9\u20ac\ud83d\ude00""#, .string("é€😀")),
        ("\"é€😀\"", .string("é€😀")),
        (#"{"k":1,"k":2}"#, .object(["k": .integer(2)])),
    ])
    func parsesValidJSON(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(Data(text.utf8)) == expected)
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "[1 2]",
        #""abc"#, #""\x""#, #""\u12""#, #""\ud83d""#, #""\ude00""#, "\"a\u{01}b\"", "{} {}", "NaN", "Infinity", "1e999",
        #"{"a":1}x"#,
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Data(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Data([0x22, 0x5C, 0x6E, 0xC3, 0x22])) }
    }

    @Test func boundsNestingInsteadOfExhaustingTheStack() throws {
        let ok = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        _ = try JSONParser.parse(Data(ok.utf8))
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Data(hostile.utf8)) }
    }

    /// The same documents through Foundation's decoder give the same values.
    @Test func agreesWithJSONDecoder() throws {
        let documents = [
            #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a","labels":{"x":"y"}},"data":{"ca.crt":"LS0t"},"n":[1,2.5,-350,"s",{"deep":[[]]}]}"#,
            #"[{"unicode":"\u00fc\u00df","escaped":"line\nbreak"},null,true]"#,
        ]
        for document in documents {
            let viaDecoder = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
            #expect(try JSONParser.parse(Data(document.utf8)) == viaDecoder)
        }
    }

    @Test func admissionReviewErrorsNameTheField() {
        func message(_ json: String) -> String {
            do {
                _ = try AdmissionReview.decodeRequest(from: Data(json.utf8))
                return "no error"
            } catch {
                return error.description
            }
        }
        let head = #""apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview""#
        #expect(message("{\(head)}").contains("request is missing"))
        #expect(message(#"{\#(head),"request":{"uid":5}}"#).contains("request.uid: expected a string, found integer"))
        #expect(message(#"{\#(head),"request":{"uid":"u","operation":"PATCH"}}"#).contains("request.operation: unsupported value \"PATCH\""))
        #expect(message(#"{\#(head),"request":{"uid":"u","operation":"CREATE"}}"#).contains("request.kind is required"))
        #expect(message(#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#).contains("v1beta1"))
        #expect(message("[1]").contains("expected a JSON object"))
        #expect(message("{nope").contains("not valid JSON"))
    }
}
