import KubeModel
import Rules

/// The live view at one instant: immutable for its readers, cheap to derive a changed copy from.
///
/// Every source has its own sharded map, and two sharded indexes answer "who references this
/// Policy / Secret". A change touches the object's shard and the shards of the keys it references
/// (added or retracted): O(objects changed), never a rebuild.
public struct LiveSnapshot: ClusterSnapshot {
    /// A referencing object's identity.
    struct Referrer: Hashable, Sendable, Comparable {
        var source: WatchSource
        var key: ObjectKey
        static func < (lhs: Referrer, rhs: Referrer) -> Bool { (lhs.source, lhs.key) < (rhs.source, rhs.key) }
    }

    private var objects: [WatchSource: ShardedMap<StoredObject>] = [:]
    private var policyReferrerIndex = ShardedMap<Set<Referrer>>()
    private var secretReferrerIndex = ShardedMap<Set<Referrer>>()
    /// Secrets of unwatched types found by a read-through GET (identity and type only); only in
    /// the per-request copy that asked for them.
    private var otherSecrets = ShardedMap<StoredObject>()

    public init() {}

    /// The view the reflectors would build from `objects` (manifests, as `--state` reads them):
    /// each ingested as its source's watch delivers it, Secrets by type (`nginx.org/ca`,
    /// `kubernetes.io/tls`; others are not watched), anything no source watches left out. For
    /// benchmarks and tests of what reads the live view.
    public init(ingesting objects: [KubeObject]) {
        for object in objects {
            let source: WatchSource?
            switch object.kind {
            case "Secret":
                switch SecretView.type(of: object) {
                case SecretView.caType: source = .caSecrets
                case SecretView.tlsType: source = .tlsSecrets
                default: source = nil
                }
            default:
                source = WatchSource.allCases.first { $0.kind == object.kind && $0.group == object.group }
            }
            if let source, let stored = ObjectIngest.stored(object.raw, source: source) { upsert(stored) }
        }
    }

    /// Objects held for `source`.
    public func count(_ source: WatchSource) -> Int { objects[source]?.count ?? 0 }

    /// The stored object `key` of `source`.
    public func stored(_ source: WatchSource, _ key: ObjectKey) -> StoredObject? { objects[source]?[key] }

    /// Every stored object of `source`, in no particular order.
    public func all(_ source: WatchSource) -> [StoredObject] { objects[source]?.values ?? [] }

    // MARK: ClusterSnapshot

    public func policy(namespace: String, name: String) -> KubeObject? {
        objects[.policies]?[ObjectKey(namespace: namespace, name: name)]?.object
    }

    /// Answers from the verdict computed at ingest (`ObjectIngest` gives every Policy one).
    public func policyVerdict(namespace: String, name: String) -> PolicyVerdict? {
        objects[.policies]?[ObjectKey(namespace: namespace, name: name)]?.policyVerdict
    }

    public func secret(namespace: String, name: String) -> KubeObject? {
        storedSecret(ObjectKey(namespace: namespace, name: name))?.object
    }

    public func policyReferrers(namespace: String, name: String) -> [KubeObject] {
        resolve(policyReferrerIndex[ObjectKey(namespace: namespace, name: name)])
    }

    public func secretReferrers(namespace: String, name: String) -> [KubeObject] {
        resolve(secretReferrerIndex[ObjectKey(namespace: namespace, name: name)])
    }

    /// Answers from the verdict computed at ingest: a TLS Secret's key is gone by now, so computing
    /// again would wrongly report it missing.
    public func secretContentFailures(_ key: ObjectKey, requiredType: String, compute: () -> [Finding]) -> [Finding] {
        if let stored = storedSecret(key), let failures = stored.contentFailures,
           stored.object.raw["type"]?.stringValue == requiredType {
            return failures
        }
        return compute()
    }

    private func storedSecret(_ key: ObjectKey) -> StoredObject? {
        objects[.caSecrets]?[key] ?? objects[.tlsSecrets]?[key] ?? otherSecrets[key]
    }

    private func resolve(_ referrers: Set<Referrer>?) -> [KubeObject] {
        guard let referrers else { return [] }
        return referrers.sorted().compactMap { objects[$0.source]?[$0.key]?.object }
    }

    // MARK: Changes

    /// Adds or replaces an object, moving its references in the indexes.
    mutating func upsert(_ stored: StoredObject) {
        let previous = objects[stored.source]?[stored.key]
        objects[stored.source, default: ShardedMap()][stored.key] = stored
        let referrer = Referrer(source: stored.source, key: stored.key)
        Self.move(referrer, from: previous?.policyReferences ?? [], to: stored.policyReferences, in: &policyReferrerIndex)
        Self.move(referrer, from: previous?.secretReferences ?? [], to: stored.secretReferences, in: &secretReferrerIndex)
    }

    /// Removes an object and its references.
    mutating func remove(_ source: WatchSource, _ key: ObjectKey) {
        guard let previous = objects[source]?[key] else { return }
        objects[source]?[key] = nil
        let referrer = Referrer(source: source, key: key)
        Self.move(referrer, from: previous.policyReferences, to: [], in: &policyReferrerIndex)
        Self.move(referrer, from: previous.secretReferences, to: [], in: &secretReferrerIndex)
    }

    /// Makes `items` the whole content of `source` (a LIST result): what is not in it goes.
    mutating func replace(_ source: WatchSource, with items: [StoredObject]) {
        var incoming = Set<ObjectKey>()
        for item in items { incoming.insert(item.key) }
        for key in objects[source]?.keys ?? [] where !incoming.contains(key) {
            remove(source, key)
        }
        for item in items { upsert(item) }
        if objects[source] == nil { objects[source] = ShardedMap() }
    }

    /// A read-through find of a Secret of a type the view does not watch.
    mutating func addOtherSecret(_ stored: StoredObject) {
        otherSecrets[stored.key] = stored
    }

    private static func move(_ referrer: Referrer, from old: [ObjectKey], to new: [ObjectKey], in index: inout ShardedMap<Set<Referrer>>) {
        guard old != new else { return }
        let kept = Set(new)
        for key in old where !kept.contains(key) {
            // Taken out first so the set is uniquely held and changes in place, not copied.
            var set = index.take(key) ?? []
            set.remove(referrer)
            if !set.isEmpty { index[key] = set }
        }
        let before = Set(old)
        for key in new where !before.contains(key) {
            var set = index.take(key) ?? []
            set.insert(referrer)
            index[key] = set
        }
    }
}
