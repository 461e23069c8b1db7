import NIOConcurrencyHelpers
import Rules

/// The cluster view the "needs state" rules read: replaced as a whole, read per request.
///
/// `nil` means no view is available; the engine then skips those rules and says so in a warning.
public final class ClusterView: Sendable {
    private let current: NIOLockedValueBox<(any ClusterSnapshot)?>

    public init(_ snapshot: (any ClusterSnapshot)? = nil) {
        current = NIOLockedValueBox(snapshot)
    }

    public var snapshot: (any ClusterSnapshot)? { current.withLockedValue { $0 } }

    public func replace(with snapshot: (any ClusterSnapshot)?) {
        current.withLockedValue { $0 = snapshot }
    }
}
