import Foundation
import NIOConcurrencyHelpers

/// The bearer token sent to the API server. A token from a file is re-read every
/// `reloadInterval` and at once after a 401 (bound service-account tokens rotate; client-go's
/// `cachingTokenSource` does the same). The value is never logged or described.
public final class BearerToken: Sendable {
    private struct State {
        var value: String?
        var readAt: ContinuousClock.Instant?
    }

    private let fixed: String?
    private let file: String?
    private let reloadInterval: Duration
    private let state = NIOLockedValueBox(State())

    public init(fixed: String?, file: String?, reloadInterval: Duration = .seconds(60)) {
        self.fixed = fixed
        self.file = file
        self.reloadInterval = reloadInterval
    }

    /// Whether any token is configured.
    public var isConfigured: Bool { fixed != nil || file != nil }

    /// The token to send now, re-read from its file when older than the reload interval.
    /// `nil` when none is configured or the file is unreadable (the request then gets 401).
    public func current() -> String? {
        if let fixed { return fixed }
        guard let file else { return nil }
        let now = ContinuousClock.now
        if let known = state.withLockedValue({ s -> String? in
            guard let readAt = s.readAt, now - readAt < reloadInterval else { return nil }
            return s.value
        }) {
            return known
        }
        let value = Self.read(file)
        state.withLockedValue { $0 = State(value: value ?? $0.value, readAt: now) }
        return value ?? state.withLockedValue { $0.value }
    }

    /// After a 401: the next `current()` reads the file again. Returns whether a re-read is possible.
    @discardableResult
    public func invalidate() -> Bool {
        guard file != nil, fixed == nil else { return false }
        state.withLockedValue { $0.readAt = nil }
        return true
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !text.isEmpty
        else { return nil }
        return text
    }
}
