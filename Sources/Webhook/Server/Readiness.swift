import NIOConcurrencyHelpers

/// What `/readyz` reports: ready once the serving certificate is loaded and the cluster view is
/// available (with the live view: every source listed once), and not ready from the moment shutdown begins, so the endpoint is removed from the
/// Service before the server stops accepting connections.
public final class Readiness: Sendable {
    private struct State {
        var certificateLoaded = false
        var clusterViewReady = false
        var shuttingDown = false
        /// The live view's reason for not being ready; `nil` result when it is.
        var clusterViewProblem: (@Sendable () -> String?)?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public var isReady: Bool {
        notReadyReason == nil
    }

    /// Why the webhook is not ready, for the `/readyz` body; `nil` when ready.
    public var notReadyReason: String? {
        // The live view's check takes its own lock: called on a copy, outside this one.
        let s = state.withLockedValue { $0 }
        if s.shuttingDown { return "shutting down" }
        if !s.certificateLoaded { return "serving certificate not loaded" }
        if let problem = s.clusterViewProblem?() { return "cluster view \(problem)" }
        if !s.clusterViewReady { return "cluster view not ready" }
        return nil
    }

    public func certificateLoaded() { state.withLockedValue { $0.certificateLoaded = true } }
    public func clusterViewReady() { state.withLockedValue { $0.clusterViewReady = true } }
    /// Ready as far as the cluster view goes once `problem` returns `nil` (the live view's sync state).
    public func clusterViewReady(when problem: @escaping @Sendable () -> String?) {
        state.withLockedValue {
            $0.clusterViewProblem = problem
            $0.clusterViewReady = true
        }
    }
    /// Whether shutdown has begun: answers then carry `Connection: close`.
    public var isShuttingDown: Bool { state.withLockedValue { $0.shuttingDown } }

    public func beginShutdown() { state.withLockedValue { $0.shuttingDown = true } }
}
