import NIOConcurrencyHelpers
import Rules

/// The live view's current state. Reflectors change it one event (or one LIST) at a time under a
/// lock; each change publishes a new `LiveSnapshot` that shares all unchanged storage with the
/// previous one, so a reader takes the current snapshot in O(1) and keeps a consistent view for
/// as long as it holds it.
public final class ClusterStore: Sendable {
    private let state = NIOLockedValueBox(LiveSnapshot())
    /// What changed, for the background audit (off until it enables it).
    public let journal = ChangeJournal()

    public init() {}

    /// The current snapshot.
    public var snapshot: LiveSnapshot { state.withLockedValue { $0 } }

    public func count(_ source: WatchSource) -> Int { state.withLockedValue { $0.count(source) } }

    func upsert(_ stored: StoredObject) {
        state.withLockedValue { snapshot in
            if Self.differs(snapshot.stored(stored.source, stored.key), stored) { journal.record(stored.source, stored.key) }
            snapshot.upsert(stored)
        }
    }

    func remove(_ source: WatchSource, _ key: ObjectKey) {
        state.withLockedValue { snapshot in
            if snapshot.stored(source, key) != nil { journal.record(source, key) }
            snapshot.remove(source, key)
        }
    }

    func replace(_ source: WatchSource, with items: [StoredObject]) {
        state.withLockedValue { snapshot in
            // A relist mostly brings what is already held: only what differs counts as changed.
            var incoming = Set<ObjectKey>()
            for item in items {
                incoming.insert(item.key)
                if Self.differs(snapshot.stored(source, item.key), item) { journal.record(source, item.key) }
            }
            for held in snapshot.all(source) where !incoming.contains(held.key) { journal.record(source, held.key) }
            snapshot.replace(source, with: items)
        }
    }

    private static func differs(_ held: StoredObject?, _ incoming: StoredObject) -> Bool {
        guard let held, let version = incoming.resourceVersion else { return true }
        return held.resourceVersion != version
    }
}
