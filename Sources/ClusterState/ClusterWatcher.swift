import Foundation
import KubeModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Rules

/// The live cluster view: one reflector per source feeding one store, the sync status of each,
/// and the bounded read-through that confirms a reference is really missing.
public final class ClusterWatcher: Sendable {
    /// Every timing of the live view; the defaults follow client-go, tests shorten them.
    public struct Timing: Sendable {
        public var backoff = Backoff.Policy()
        /// `timeoutSeconds` of each WATCH, chosen at random in this range.
        public var watchTimeoutSeconds: ClosedRange<Int> = 300...600
        /// Silence beyond `timeoutSeconds` after which a watch is abandoned.
        public var watchIdleGrace: Duration = .seconds(30)
        /// How often a source whose CRD is absent is checked again.
        public var resourceRecheckInterval: Duration = .seconds(60)
        /// Limit of one read-through confirmation.
        public var readThroughTimeout: Duration = .seconds(1)
        public var pageSize = 500
        public init() {}
    }

    public let client: APIClient
    public let store = ClusterStore()
    public let status = StatusBoard()
    let timing: Timing
    let logger: Logger
    private let everySourceSynced = NIOLockedValueBox(false)

    public init(client: APIClient, timing: Timing = Timing(), logger: Logger) {
        self.client = client
        self.timing = timing
        self.logger = logger
    }

    /// Runs every reflector until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for source in WatchSource.allCases {
                let reflector = Reflector(source: source, client: client, store: store, timing: timing, status: status, logger: logger)
                group.addTask { await reflector.run() }
            }
        }
    }

    /// The current snapshot once every source has synced at least once; `nil` before (the
    /// "needs state" rules are then skipped, never run on a partial view).
    public var snapshot: LiveSnapshot? {
        guard everySourceSynced.withLockedValue({ $0 }) else {
            let statuses = status.all
            guard WatchSource.allCases.allSatisfy({ statuses[$0]?.syncedOnce == true }) else { return nil }
            // Synced once is synced for good: later reviews skip the status check.
            everySourceSynced.withLockedValue { $0 = true }
            return store.snapshot
        }
        return store.snapshot
    }

    /// The first snapshot once every source has synced, checked every `interval`; `nil` when
    /// `deadline` passes first or the task is cancelled.
    public func firstSnapshot(before deadline: ContinuousClock.Instant? = nil, polling interval: Duration) async -> LiveSnapshot? {
        while true {
            if let snapshot { return snapshot }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            guard (try? await Task.sleep(for: interval)) != nil else { return nil }
        }
    }

    /// Why the view is not ready, naming each unsynced source (and the verb refused, if any); `nil` when ready.
    public var notSyncedReason: String? {
        let statuses = status.all
        let missing = WatchSource.allCases.filter { statuses[$0]?.syncedOnce != true }
        guard !missing.isEmpty else { return nil }
        let parts = missing.map { source -> String in
            if let verb = statuses[source]?.forbiddenVerb {
                return "\(source.displayName) (forbidden: \(verb); grant get, list, watch)"
            }
            return source.displayName
        }
        return "not synced: " + parts.joined(separator: ", ")
    }

    // MARK: Read-through

    /// One GET that confirms a reference before a rule calls it missing.
    public struct Lookup: Sendable {
        let source: WatchSource
        let key: ObjectKey
    }

    /// The Policies and Secrets `object` references that `snapshot` lacks: dictionary reads only,
    /// so a review can tell on its worker whether it needs the API server at all.
    public static func missingReferences(of object: KubeObject, in snapshot: LiveSnapshot) -> [Lookup] {
        ReferenceIndex.policies(of: object).filter { snapshot.policy(namespace: $0.namespace, name: $0.name) == nil }
            .map { Lookup(source: .policies, key: $0) }
            + ReferenceIndex.secrets(of: object).filter { snapshot.secret(namespace: $0.namespace, name: $0.name) == nil }
            .map { Lookup(source: .caSecrets, key: $0) }
    }

    /// `snapshot` with the Policies and Secrets that `object` references but the snapshot lacks
    /// fetched by one GET each (together at most `readThroughTimeout`): a Secret created a few
    /// milliseconds before the Policy naming it may not have arrived through the watch yet. What
    /// the GET does not find stays missing. The store itself is left to the watch.
    public func resolvingMissingReferences(of object: KubeObject, in snapshot: LiveSnapshot) async -> LiveSnapshot {
        await resolving(Self.missingReferences(of: object, in: snapshot), in: snapshot)
    }

    /// `snapshot` with what `lookups` find (see `resolvingMissingReferences`).
    public func resolving(_ lookups: [Lookup], in snapshot: LiveSnapshot) async -> LiveSnapshot {
        guard !lookups.isEmpty else { return snapshot }
        let client = self.client
        let limit = timing.readThroughTimeout
        // Raced against the limit without waiting for the lookups to end: a connect to an API
        // server that drops packets is not cancellable and must not hold the review.
        let collected = NIOLockedValueBox([FoundObject]())
        let resumed = NIOLockedValueBox(false)
        let found: [FoundObject] = await withCheckedContinuation { continuation in
            let finish: @Sendable () -> Void = {
                guard resumed.withLockedValue({ done in defer { done = true }; return !done }) else { return }
                continuation.resume(returning: collected.withLockedValue { $0 })
            }
            let lookupsTask = Task {
                await withTaskGroup(of: Void.self) { group in
                    for lookup in lookups.prefix(16) {
                        group.addTask {
                            if let object = await Self.fetch(lookup.source, lookup.key, client: client) {
                                collected.withLockedValue { $0.append(object) }
                            }
                        }
                    }
                }
                finish()
            }
            Task {
                try? await Task.sleep(for: limit)
                finish()
                lookupsTask.cancel()
            }
        }
        guard !found.isEmpty else { return snapshot }
        var overlay = snapshot
        for item in found {
            switch item {
            case .watched(let stored): overlay.upsert(stored)
            case .otherSecret(let stored): overlay.addOtherSecret(stored)
            }
        }
        return overlay
    }

    enum FoundObject: Sendable {
        case watched(StoredObject)
        case otherSecret(StoredObject)
    }

    private static func fetch(_ source: WatchSource, _ key: ObjectKey, client: APIClient) async -> FoundObject? {
        let path = source.objectPath(namespace: key.namespace, name: key.name)
        guard let response = try? await client.get(path, limit: 16 << 20), response.status == 200,
              let value = try? JSONParser.parse(Data(response.body.readableBytesView))
        else { return nil }
        guard source != .policies else { return ObjectIngest.stored(value, source: .policies).map(FoundObject.watched) }
        switch value["type"]?.stringValue {
        case "nginx.org/ca"?: return ObjectIngest.stored(value, source: .caSecrets).map(FoundObject.watched)
        case "kubernetes.io/tls"?: return ObjectIngest.stored(value, source: .tlsSecrets).map(FoundObject.watched)
        default: return ObjectIngest.typeOnlySecret(value).map(FoundObject.otherSecret)
        }
    }
}
