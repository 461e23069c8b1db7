import NIOConcurrencyHelpers
import Rules

/// The live view's current state. Reflectors change it one event (or one LIST) at a time under a
/// lock; each change publishes a new `LiveSnapshot` that shares all unchanged storage with the
/// previous one, so a reader takes the current snapshot in O(1) and keeps a consistent view for
/// as long as it holds it.
public final class ClusterStore: Sendable {
    private let state = NIOLockedValueBox(LiveSnapshot())

    public init() {}

    /// The current snapshot.
    public var snapshot: LiveSnapshot { state.withLockedValue { $0 } }

    public func count(_ source: WatchSource) -> Int { state.withLockedValue { $0.count(source) } }

    func upsert(_ stored: StoredObject) { state.withLockedValue { $0.upsert(stored) } }

    func remove(_ source: WatchSource, _ key: ObjectKey) { state.withLockedValue { $0.remove(source, key) } }

    func replace(_ source: WatchSource, with items: [StoredObject]) {
        state.withLockedValue { $0.replace(source, with: items) }
    }
}
