import Foundation
import Logging
import NIOConcurrencyHelpers

/// A swift-log handler writing one JSON object per line, the format log pipelines (Loki, Fluent
/// Bit, Cloud Logging) parse without configuration.
///
/// `{"ts":"2026-11-23T14:51:00.123Z","level":"info","logger":"mtls-guard","msg":"...", ...metadata}`
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: JSONLineOutput

    public init(label: String, output: JSONLineOutput = .standardError) {
        self.label = label
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        // The fixed members win over metadata of the same name, as they always have.
        merged.removeValue(forKey: "ts")
        merged.removeValue(forKey: "level")
        merged.removeValue(forKey: "logger")
        merged.removeValue(forKey: "msg")
        var members: [(String, Member)] = merged.map { ($0.key, .metadata($0.value)) }
        members.append(("ts", .text(Self.timestamp())))
        members.append(("level", .text(event.level.rawValue)))
        members.append(("logger", .text(label)))
        members.append(("msg", .text(event.message.description)))
        if let error = event.error {
            members.removeAll { $0.0 == "error" }
            members.append(("error", .text(String(describing: error))))
        }
        // Written by hand, keys sorted: JSONSerialization through `[String: Any]` cost more than
        // the review the line describes.
        var line: [UInt8] = []
        line.reserveCapacity(512)
        line.append(UInt8(ascii: "{"))
        for (position, (key, member)) in members.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }).enumerated() {
            if position > 0 { line.append(UInt8(ascii: ",")) }
            Self.appendString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            switch member {
            case .text(let text): Self.appendString(text, to: &line)
            case .metadata(let value): Self.appendValue(value, to: &line)
            }
        }
        line.append(UInt8(ascii: "}"))
        line.append(0x0A)
        output.write(line)
    }

    private enum Member {
        case text(String)
        case metadata(Logger.Metadata.Value)
    }

    static func appendValue(_ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        switch value {
        case .string(let s): appendString(s, to: &line)
        case .stringConvertible(let c): appendString(c.description, to: &line)
        case .array(let elements):
            line.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { line.append(UInt8(ascii: ",")) }
                appendValue(element, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            line.append(UInt8(ascii: "{"))
            for (position, key) in dictionary.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if position > 0 { line.append(UInt8(ascii: ",")) }
                appendString(key, to: &line)
                line.append(UInt8(ascii: ":"))
                if let element = dictionary[key] { appendValue(element, to: &line) }
            }
            line.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string: `"`, `\` and control characters escaped, the rest as UTF-8.
    static func appendString(_ string: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): line.append(UInt8(ascii: "\\")); line.append(byte)
            case 0x0A: line.append(UInt8(ascii: "\\")); line.append(UInt8(ascii: "n"))
            case 0x0D: line.append(UInt8(ascii: "\\")); line.append(UInt8(ascii: "r"))
            case 0x09: line.append(UInt8(ascii: "\\")); line.append(UInt8(ascii: "t"))
            case 0..<0x20:
                line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                         hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }

    /// `2026-11-23T14:51:00.123Z` (UTC, milliseconds), from `UTCTime`.
    static func timestamp() -> String {
        let now = UTCTime.now()
        let pad = UTCTime.padded
        return "\(pad(now.year, 4))-\(pad(now.month, 2))-\(pad(now.day, 2))T"
            + "\(pad(now.hour, 2)):\(pad(now.minute, 2)):\(pad(now.second, 2)).\(pad(now.millisecond, 3))Z"
    }
}

/// Where JSON log lines go; a whole line is written at once so lines from concurrent requests never interleave.
public final class JSONLineOutput: Sendable {
    public static let standardError = JSONLineOutput(fileDescriptor: 2)
    public static let standardOutput = JSONLineOutput(fileDescriptor: 1)

    private let fileDescriptor: Int32
    private let lock = NIOLock()

    public init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    /// Writes `bytes`, which end with the newline.
    func write(_ bytes: [UInt8]) {
        lock.withLock {
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let n = Foundation.write(fileDescriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }
                    offset += n
                }
            }
        }
    }
}
