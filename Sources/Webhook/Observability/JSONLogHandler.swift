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
        var object: [String: Any] = [:]
        for (key, value) in merged { object[key] = Self.jsonObject(value) }
        object["ts"] = Self.timestamp()
        object["level"] = event.level.rawValue
        object["logger"] = label
        object["msg"] = event.message.description
        if let error = event.error { object["error"] = String(describing: error) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        output.write(data)
    }

    static func jsonObject(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let a): return a.map(jsonObject)
        case .dictionary(let d): return d.mapValues(jsonObject)
        }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Where JSON log lines go; a whole line is written at once so lines from concurrent requests never interleave.
public final class JSONLineOutput: Sendable {
    public static let standardError = JSONLineOutput(fileDescriptor: 2)
    public static let standardOutput = JSONLineOutput(fileDescriptor: 1)

    private let fileDescriptor: Int32
    private let lock = NIOLock()

    public init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    func write(_ line: Data) {
        var bytes = line
        bytes.append(0x0A)
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
