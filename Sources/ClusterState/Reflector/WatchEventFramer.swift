import NIOCore

/// Splits a watch stream into events: the API server writes one JSON object per line, and TCP,
/// TLS and chunked framing may cut the stream anywhere, inside an event or inside a multi-byte
/// character. Bytes are kept until their line is complete; one event is capped so a broken or
/// hostile stream cannot grow memory without bound.
struct WatchEventFramer {
    /// Largest event accepted (the API server's own limit on a watch event is far lower in practice).
    static let defaultLimit = 16 << 20

    struct EventTooLarge: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "watch event larger than \(limit) bytes" }
    }

    let limit: Int
    private var pending: [UInt8] = []

    init(limit: Int = defaultLimit) {
        self.limit = limit
    }

    /// Bytes of an event begun but not yet ended by a newline.
    var pendingCount: Int { pending.count }

    /// Appends `bytes` and returns every event completed by them, without their newline; empty
    /// lines (keep-alives) are skipped.
    mutating func append(_ bytes: ByteBuffer) throws -> [[UInt8]] {
        var events: [[UInt8]] = []
        try bytes.withUnsafeReadableBytes { raw throws in
            var start = 0
            while start < raw.count {
                guard let newline = raw[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    guard pending.count + (raw.count - start) <= limit else { throw EventTooLarge(limit: limit) }
                    pending.append(contentsOf: raw[start...])
                    return
                }
                guard pending.count + (newline - start) <= limit else { throw EventTooLarge(limit: limit) }
                var line = pending
                pending = []
                line.append(contentsOf: raw[start..<newline])
                if line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t") }) {
                    events.append(line)
                }
                start = newline + 1
            }
        }
        return events
    }
}
