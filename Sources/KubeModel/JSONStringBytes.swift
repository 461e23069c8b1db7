/// The bytes a JSON string does not hold as they are: `"`, `\` and control characters (below
/// 0x20). Both the parser (where a string's plain run ends) and the answer writer (what to escape)
/// look for them eight bytes at a time.
public enum JSONStringBytes {
    /// The high bit of each byte of `word` (bytes in little-endian order) that is `"`, `\` or below
    /// 0x20, and possibly of bytes above such a byte (a borrow can flag bytes above a special one,
    /// never below): the lowest flagged byte is the first special one, and a zero mask means none.
    @inlinable @inline(__always)
    public static func specialMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        // A zero byte in `quote` or `backslash`, or a byte below 0x20 in `word` (bytes from 0x80 up
        // are never flagged by that test: `~word` clears their high bit).
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word)
            & 0x8080_8080_8080_8080
    }

    /// The same test for one byte.
    @inlinable @inline(__always)
    public static func isSpecial(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}
