/// Byte tests for the common case of plain text: when every byte of a string is printable ASCII,
/// one byte is one character, and sizes, cuts and quoting need no grapheme or scalar walk.
public enum PrintableASCII {
    /// Whether every byte of `text` is printable ASCII (0x20–0x7E) and none of them is in `excluded`.
    @inlinable
    public static func only(_ text: String, excluding excluded: [UInt8] = []) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            // Branch-free, so the compiler tests many bytes per instruction: for 0x20...0x7E both
            // `byte - 0x20` and `byte + 1` stay below 0x80; for any other byte one of them does not.
            var high: UInt8 = 0
            for byte in bytes { high |= (byte &- 0x20) | (byte &+ 1) }
            return high & 0x80 == 0 && (excluded.isEmpty || !bytes.contains(where: excluded.contains))
        }
    }
}
