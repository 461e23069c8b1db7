import Foundation
import KubeModel
import NIOCore
import Testing
@testable import Webhook

/// The hand-written response encoder against `JSONEncoder`, the encoder it replaced: same bytes.
@Suite struct AdmissionResponseWriterTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let awkward: String = {
        var text = (0..<0x20).map { String(Character(Unicode.Scalar(UInt8($0)))) }.joined()
        text += #"quote " backslash \ slash / é € 😀 \#u{7f} \#u{2028} "#
        return text
    }()

    static let responses: [AdmissionResponse] = [
        AdmissionResponse(uid: "u-1", allowed: true),
        AdmissionResponse(uid: awkward, allowed: false,
                          status: AdmissionStatus(code: 403, message: "Policy a/b: 1 mTLS violation\n- \(awkward)", reason: "Forbidden", status: "Failure"),
                          warnings: ["[deny] spec.x: \"bad\" (rule/a)", awkward, ""],
                          auditAnnotations: ["rules": "a/b,c/d", "decision": "deny", "Zed": "z", "_x": awkward, "a10": "1", "a9": "2"]),
        AdmissionResponse(uid: "u-2", allowed: true, status: AdmissionStatus(message: "only a message"), warnings: []),
        AdmissionResponse(uid: "", allowed: true, status: AdmissionStatus(), auditAnnotations: [:]),
    ]

    @Test(arguments: responses)
    func writesWhatJSONEncoderWrites(response: AdmissionResponse) throws {
        let expected = try Self.encoder.encode(AdmissionReview(response: response))
        let written = AdmissionWire.responseBuffer(response)
        #expect(Array(written.readableBytesView) == Array(expected))
        #expect(AdmissionWire.responseBody(response) == expected)
    }

    /// The escape scan reads eight bytes at a time: each escaped byte is found wherever it falls
    /// in a word, after and before ASCII and multi-byte text alike, two in a row too.
    @Test(arguments: ["\"", "\\", "\u{0}", "\u{1f}", "\n", "\"\"", "\\\u{8}"])
    func escapesAtEveryOffsetAsJSONEncoderDoes(special: String) throws {
        for filler in ["a", "é", "😀", "\u{7f}", "~"] {
            for count in 0..<20 {
                let text = String(repeating: filler, count: count) + special + String(repeating: filler, count: 19 - count)
                var buffer = ByteBuffer()
                AdmissionResponseWriter.writeString(text, into: &buffer)
                #expect(Array(buffer.readableBytesView) == Array(try Self.encoder.encode(text)), "\(text.debugDescription)")
            }
        }
    }

    @Test func decodedBodyComesFromTheByteBuffer() throws {
        let json = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"b","kind":{"group":"","version":"v1","kind":"Secret"},"operation":"DELETE","object":null,"oldObject":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"ca"}}}}"#
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        buffer.writeString("prefix that was already read")
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        buffer.writeString(json)
        let request = try AdmissionReview.decodeRequest(from: buffer)
        #expect(request.uid == "b")
        #expect(request.operation == .delete)
    }
}
