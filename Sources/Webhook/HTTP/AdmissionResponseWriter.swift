import KubeModel
import NIOCore

/// Writes the answering AdmissionReview straight into a `ByteBuffer`, byte for byte what
/// `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes, without its intermediate
/// containers and the `Data` copy after it (the encoder was a fifth of the in-process cost).
///
/// The shape is fixed (`AdmissionReview` holding an `AdmissionResponse`), so the members are
/// written in their sorted order; only `auditAnnotations` has keys to sort.
enum AdmissionResponseWriter {
    static func write(_ response: AdmissionResponse, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":"#)
        buffer.writeStaticString(response.allowed ? "true" : "false")
        if let annotations = response.auditAnnotations {
            buffer.writeStaticString(#","auditAnnotations":{"#)
            let keys = annotations.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (position, key) in keys.enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                writeString(key, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                writeString(annotations[key] ?? "", into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        if let status = response.status {
            buffer.writeStaticString(#","status":{"#)
            var separator = false
            func member(_ name: StaticString, _ value: String?) {
                guard let value else { return }
                if separator { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeStaticString(name)
                writeString(value, into: &buffer)
                separator = true
            }
            if let code = status.code {
                buffer.writeStaticString(#""code":"#)
                buffer.writeString(String(code))
                separator = true
            }
            member(#""message":"#, status.message)
            member(#""reason":"#, status.reason)
            member(#""status":"#, status.status)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
        buffer.writeStaticString(#","uid":"#)
        writeString(response.uid, into: &buffer)
        if let warnings = response.warnings {
            buffer.writeStaticString(#","warnings":["#)
            for (position, warning) in warnings.enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                writeString(warning, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        }
        buffer.writeStaticString("}}")
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// A JSON string as `JSONEncoder` writes it: `"` and `\` escaped, control characters as
    /// `\b \t \n \f \r` or `\u00xx`, everything else (`/` included) as its UTF-8 bytes.
    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            var runStart = 0
            var offset = 0
            while true {
                offset = nextEscaped(raw, from: offset)
                guard offset < raw.count else { break }
                let byte = raw[offset]
                if offset > runStart { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[runStart..<offset])) }
                offset += 1
                runStart = offset
                buffer.writeInteger(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): buffer.writeInteger(byte)
                case 0x08: buffer.writeInteger(UInt8(ascii: "b"))
                case 0x09: buffer.writeInteger(UInt8(ascii: "t"))
                case 0x0A: buffer.writeInteger(UInt8(ascii: "n"))
                case 0x0C: buffer.writeInteger(UInt8(ascii: "f"))
                case 0x0D: buffer.writeInteger(UInt8(ascii: "r"))
                default:
                    buffer.writeStaticString("u00")
                    hexDigits.withUTF8Buffer { digits in
                        buffer.writeInteger(digits[Int(byte >> 4)])
                        buffer.writeInteger(digits[Int(byte & 0x0F)])
                    }
                }
            }
            if raw.count > runStart { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[runStart...])) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// The offset of the first byte from `start` on that is escaped (`JSONStringBytes`), or
    /// `bytes.count`. Eight bytes at a time while none is: warnings and messages are a few hundred
    /// bytes with one or two quotes.
    static func nextEscaped(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var offset = start
        while bytes.count - offset >= 8 {
            let flagged = JSONStringBytes.specialMask(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            if flagged != 0 { return offset + flagged.trailingZeroBitCount >> 3 }
            offset += 8
        }
        while offset < bytes.count, !JSONStringBytes.isSpecial(bytes[offset]) { offset += 1 }
        return offset
    }
}
