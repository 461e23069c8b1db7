import NIOConcurrencyHelpers
import Rules

/// The objects of the live view that changed since a consumer last looked: the background audit
/// reads it to judge again only what changed (and what references it), never the whole view.
///
/// Off until `enable()`: a view nobody audits keeps no journal. Bounded: beyond `limit` distinct
/// objects it only remembers that too much changed (`overflowed`), and the consumer judges
/// everything again, which costs what a relist costs anyway.
public final class ChangeJournal: Sendable {
    /// One changed object: its source and `namespace/name` (namespace `""` for cluster-scoped kinds).
    public struct Entry: Hashable, Sendable {
        public var source: WatchSource
        public var key: ObjectKey
    }

    /// What changed since the last `take()`.
    public struct Changes: Sendable {
        public var entries: Set<Entry>
        /// More than `limit` objects changed: treat everything as changed.
        public var overflowed: Bool
        public var isEmpty: Bool { entries.isEmpty && !overflowed }
    }

    private struct State {
        var enabled = false
        var entries = Set<Entry>()
        var overflowed = false
    }

    private let state = NIOLockedValueBox(State())
    let limit: Int

    public init(limit: Int = 50_000) {
        self.limit = limit
    }

    /// Starts recording changes.
    public func enable() { state.withLockedValue { $0.enabled = true } }

    func record(_ source: WatchSource, _ key: ObjectKey) {
        state.withLockedValue { state in
            guard state.enabled, !state.overflowed else { return }
            state.entries.insert(Entry(source: source, key: key))
            if state.entries.count > limit {
                state.entries = []
                state.overflowed = true
            }
        }
    }

    /// The changes recorded so far, clearing them.
    public func take() -> Changes {
        state.withLockedValue { state in
            defer {
                state.entries = []
                state.overflowed = false
            }
            return Changes(entries: state.entries, overflowed: state.overflowed)
        }
    }
}
