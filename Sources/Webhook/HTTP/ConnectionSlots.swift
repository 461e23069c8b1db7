import HummingbirdCore
import NIOConcurrencyHelpers
import NIOCore

/// The connections of one listener, and which of them are idle, so that a full listener makes room
/// for a new caller by closing the connection idle the longest instead of refusing it.
///
/// Idle means not answering a request: between requests on a keep-alive connection, or before the
/// first request head is complete (which includes clients that connect and send nothing, or send a
/// head slowly). Only when every connection is busy does the listener stop accepting, until one ends.
public final class ConnectionSlots: Sendable {
    private struct Entry {
        let channel: any Channel
        /// When the connection last became idle; `nil` while it is answering a request.
        var idleSince: NIODeadline?
        /// Run once when the connection closes (`whenClosed`), unless withdrawn first.
        var onClose: [UInt64: @Sendable () -> Void] = [:]
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var idleCount = 0
        var listener: (any Channel)?
        var stopped = false
        var nextActionID: UInt64 = 0
    }

    /// The most connections held at once.
    public let limit: Int
    private let state = NIOLockedValueBox(State())

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Whether a new connection can be taken: below the limit, or an idle one can make room.
    var canAccept: Bool { state.withLockedValue { !$0.stopped && ($0.entries.count < limit || $0.idleCount > 0) } }

    /// Stops accepting for good (shutdown): connections already accepted are served and closed; a
    /// connection accepted while the listener closes would otherwise be dropped half set up.
    public func stopAccepting() {
        state.withLockedValue { $0.stopped = true }
    }

    /// Records a new (idle) connection and, when that exceeds the limit, closes the oldest idle one.
    func opened(_ channel: any Channel) {
        let victim: (any Channel)? = state.withLockedValue { state in
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, idleSince: .now())
            state.idleCount += 1
            guard state.entries.count > limit else { return nil }
            var oldest: (key: ObjectIdentifier, since: NIODeadline)?
            for (key, entry) in state.entries where key != ObjectIdentifier(channel) {
                guard let since = entry.idleSince else { continue }
                if let current = oldest, current.since <= since { continue }
                oldest = (key, since)
            }
            guard let oldest, let entry = state.entries.removeValue(forKey: oldest.key) else { return nil }
            state.idleCount -= 1
            return entry.channel
        }
        victim?.close(promise: nil)
    }

    func closed(_ channel: any Channel) {
        let actions: [@Sendable () -> Void] = state.withLockedValue { state in
            guard let entry = state.entries.removeValue(forKey: ObjectIdentifier(channel)) else { return [] }
            if entry.idleSince != nil { state.idleCount -= 1 }
            return Array(entry.onClose.values)
        }
        actions.forEach { $0() }
    }

    /// Runs `action` when `channel` closes (at once if it is no longer held), and returns what
    /// withdraws it. Unlike a callback on the channel's close future, a withdrawn action is gone: a
    /// keep-alive connection answering many requests does not accumulate one per request.
    public func whenClosed(_ channel: any Channel, _ action: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let key = ObjectIdentifier(channel)
        let id: UInt64? = state.withLockedValue { state in
            guard state.entries[key] != nil else { return nil }
            state.nextActionID += 1
            state.entries[key]?.onClose[state.nextActionID] = action
            return state.nextActionID
        }
        guard let id else {
            action()
            return {}
        }
        return { [weak self] in
            self?.state.withLockedValue { _ = $0.entries[key]?.onClose.removeValue(forKey: id) }
        }
    }

    /// The connection started answering a request (`busy`) or finished one.
    func setBusy(_ channel: any Channel, _ busy: Bool) {
        let listenerToWake: (any Channel)? = state.withLockedValue { state in
            let key = ObjectIdentifier(channel)
            guard var entry = state.entries[key] else { return nil }
            let wasIdle = entry.idleSince != nil
            guard wasIdle == busy else { return nil }
            entry.idleSince = busy ? nil : .now()
            state.idleCount += busy ? -1 : 1
            state.entries[key] = entry
            // A full listener paused accepting while every connection was busy; Hummingbird asks again
            // only when a connection closes, so ask it to read (accept) now that one can make room.
            return !busy && state.idleCount == 1 && state.entries.count >= limit ? state.listener : nil
        }
        listenerToWake?.read()
    }

    /// The listening channel, to resume accepting when a connection becomes idle at the limit.
    public func listening(on channel: any Channel) {
        state.withLockedValue { $0.listener = channel }
    }

    /// The listener's accept policy: Hummingbird asks before each accept.
    public var acceptPolicy: some AvailableConnectionsDelegate { AcceptPolicy(slots: self) }

    private struct AcceptPolicy: AvailableConnectionsDelegate {
        let slots: ConnectionSlots
        mutating func connectionOpened() {}
        mutating func connectionClosed() {}
        func isAcceptingNewConnections() -> Bool { slots.canAccept }
    }
}
