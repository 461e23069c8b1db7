/// Base64 decoding exactly as Go's `base64.StdEncoding` does it, which is how the API server reads
/// Secret `data` (and how NGINX's PEM bodies are expected to look).
///
/// The standard alphabet; padding required (the length of the characters is a multiple of four);
/// `=` only at the end; CR and LF skipped wherever they are; any other character invalid. As in
/// Go's default (non-strict) decoder, bits left over in the last character are ignored. Lenient
/// decoding would turn garbage into silently different bytes. One pass, one allocation: Foundation's
/// `Data(base64Encoded:)` took about 90 instructions a byte, the largest part of a CA Secret review.
public enum GoBase64 {
    /// The decoded bytes, or `nil` when `text` is not valid base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    /// The decoded bytes, or `nil` when `bytes` are not valid base64.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        alphabet.withUnsafeBufferPointer { table in
            var valid = true
            let output = [UInt8](unsafeUninitializedCapacity: bytes.count / 4 * 3 + 3) { buffer, written in
                valid = decode(bytes, table: table, into: buffer, written: &written)
            }
            return valid ? output : nil
        }
    }

    /// Decodes into `output`, which has room for three bytes per four characters and three more.
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt8>,
                               into output: UnsafeMutableBufferPointer<UInt8>, written: inout Int) -> Bool {
        var quad: UInt32 = 0
        var characters = 0  // of the current quad
        var padding = 0
        var count = 0
        defer { written = count }
        var index = 0
        while index < bytes.count {
            // Fast path: four alphabet characters at a quad boundary (all but line ends and padding).
            if characters == 0, padding == 0, index + 4 <= bytes.count {
                let a = table[Int(bytes[index])], b = table[Int(bytes[index + 1])]
                let c = table[Int(bytes[index + 2])], d = table[Int(bytes[index + 3])]
                if (a | b | c | d) & 0xC0 == 0 {
                    let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    output[count] = UInt8(truncatingIfNeeded: value >> 16)
                    output[count + 1] = UInt8(truncatingIfNeeded: value >> 8)
                    output[count + 2] = UInt8(truncatingIfNeeded: value)
                    count += 3
                    index += 4
                    continue
                }
            }
            let byte = bytes[index]
            index += 1
            if byte == 0x0A || byte == 0x0D { continue }
            if padding > 0 {
                // Only the rest of the padding may follow the first `=`.
                guard byte == UInt8(ascii: "="), characters + padding < 4 else { return false }
                padding += 1
                continue
            }
            if byte == UInt8(ascii: "=") {
                guard characters >= 2 else { return false }
                padding = 1
                continue
            }
            let value = table[Int(byte)]
            guard value != invalid else { return false }
            quad = quad << 6 | UInt32(value)
            characters += 1
            if characters == 4 {
                output[count] = UInt8(truncatingIfNeeded: quad >> 16)
                output[count + 1] = UInt8(truncatingIfNeeded: quad >> 8)
                output[count + 2] = UInt8(truncatingIfNeeded: quad)
                count += 3
                quad = 0
                characters = 0
            }
        }
        if padding > 0 {
            guard characters + padding == 4 else { return false }
            if characters == 2 {
                output[count] = UInt8(truncatingIfNeeded: quad >> 4)
                count += 1
            } else {
                output[count] = UInt8(truncatingIfNeeded: quad >> 10)
                output[count + 1] = UInt8(truncatingIfNeeded: quad >> 2)
                count += 2
            }
            return true
        }
        return characters == 0
    }

    private static let invalid: UInt8 = 0xFF

    private static let alphabet: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()
}
