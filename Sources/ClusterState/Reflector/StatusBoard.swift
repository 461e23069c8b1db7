import NIOConcurrencyHelpers

/// The status of every source, shared by the reflectors (writers) and readiness and metrics (readers).
public final class StatusBoard: Sendable {
    private let statuses = NIOLockedValueBox([WatchSource: SourceStatus]())

    public init() {}

    func update(_ source: WatchSource, _ change: (inout SourceStatus) -> Void) {
        statuses.withLockedValue { change(&$0[source, default: SourceStatus()]) }
    }

    /// A copy of every source's status.
    public var all: [WatchSource: SourceStatus] { statuses.withLockedValue { $0 } }
}
