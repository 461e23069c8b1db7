/// Byte tests for the common case of plain text: when every byte of a string is printable ASCII,
/// one byte is one character, and sizes, cuts and quoting need no grapheme or scalar walk.
public enum PrintableASCII {
    /// Whether every byte of `text` is printable ASCII (0x20–0x7E) and none of them is in `excluded`.
    @inlinable
    public static func only(_ text: String, excluding excluded: [UInt8] = []) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F && !excluded.contains($0) }
        }
    }
}
