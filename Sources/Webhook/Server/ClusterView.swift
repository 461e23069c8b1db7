import ClusterState
import KubeModel
import Rules
import Synchronization

/// The cluster view the "needs state" rules read: a fixed snapshot (`--state`, tests), or the live
/// view from the API server. Each request reads it once (`read(for:)`).
///
/// `nil` means no view is available (none configured, or the live view has not synced every
/// source yet); the engine then skips those rules and says so in a warning.
public final class ClusterView: Sendable {
    private let fixed: (any ClusterSnapshot)?
    /// The live view, when `serve` watches the API server.
    public let live: ClusterWatcher?

    /// A fixed view. Its Secret verdicts are computed here, before the server is ready, as the live
    /// view computes them at ingest: reviews judged on an event loop never parse certificates.
    public init(_ snapshot: (any ClusterSnapshot)? = nil) {
        (snapshot as? InMemorySnapshot)?.computeSecretVerdicts()
        fixed = snapshot
        live = nil
    }

    public init(live: ClusterWatcher) {
        fixed = nil
        self.live = live
    }

    /// The label of a Namespace that overrides `--mode` for the reviews of its objects.
    public static let modeLabel = "mtls-guard.nginx.org/mode"

    /// What one review reads of the view, all from the same snapshot: the snapshot, the mode the
    /// object's Namespace asks for, and the references the snapshot lacks (to confirm by GET).
    public struct Reading: Sendable {
        public var snapshot: (any ClusterSnapshot)?
        /// The mode the Namespace's `mtls-guard.nginx.org/mode` label asks for; `nil` when it asks
        /// for none, or for a value that is no mode (the server's `--mode` applies then).
        public var mode: ReviewMode?
        fileprivate var base: LiveSnapshot?
        fileprivate var lookups: [ClusterWatcher.Lookup] = []

        /// Whether judging must wait for read-through GETs first (`completing(_:)`).
        public var needsLookups: Bool { !lookups.isEmpty }

        /// The snapshot for a review judged before its references are confirmed, and the watch
        /// that says afterwards whether the review asked the live view for a Policy or Secret it
        /// lacks (`nil` for a fixed view, which has nothing to confirm).
        public func watchingMisses() -> (snapshot: (any ClusterSnapshot)?, watch: MissWatch?) {
            guard let base else { return (snapshot, nil) }
            let watch = MissWatch(base)
            return (watch, watch)
        }
    }

    /// Reads the view for `request`: dictionary reads only, so it runs wherever the review is
    /// judged (the connection's event loop or a review worker). The references the view lacks are
    /// found by `findMissingReferences`, for the reviews that need to know before judging.
    public func read(for request: AdmissionRequest) -> Reading {
        guard let live else { return Reading(snapshot: fixed) }
        guard let base = live.snapshot else { return Reading(snapshot: nil) }
        var reading = Reading(snapshot: base, base: base)
        if let namespace = request.namespace, !namespace.isEmpty,
           let value = base.namespaceLabels(namespace)?[Self.modeLabel] {
            reading.mode = ReviewMode(rawValue: value)
        }
        return reading
    }

    /// Notes in `reading` the Policies and Secrets `request`'s object names that the live view
    /// lacks, to be confirmed by GET (`completing`) before the review is judged.
    public func findMissingReferences(of request: AdmissionRequest, in reading: inout Reading) {
        // Only the kinds that name Policies or Secrets can lack one.
        guard let base = reading.base, request.operation == .create || request.operation == .update,
              ["Ingress", "Policy", "VirtualServer", "VirtualServerRoute"].contains(request.kind.kind),
              let object = ReviewInput(request).subject else { return }
        reading.lookups = ClusterWatcher.missingReferences(of: object, in: base)
    }

    /// `reading`'s snapshot with its missing references confirmed by one bounded GET each.
    public func completing(_ reading: Reading) async -> (any ClusterSnapshot)? {
        guard let live, let base = reading.base, reading.needsLookups else { return reading.snapshot }
        return await live.resolving(reading.lookups, in: base)
    }
}

/// The live view as one review reads it, noting whether the review asked for a Policy or Secret
/// the view lacks. Only then can a read-through GET change the verdict: the rules read Policies
/// and Secrets by name alone (the referrer lists are read for DELETEs, which are never
/// confirmed), so a review that found every one it asked for is judged as it would be on the view
/// with the GETs' results added. A review judged on the event loop (most Ingresses) therefore
/// builds its object and reference lists once, and only one that missed something looks up.
public final class MissWatch: ClusterSnapshot {
    private let base: LiveSnapshot
    private let missedOne = Atomic<Bool>(false)

    public init(_ base: LiveSnapshot) {
        self.base = base
    }

    /// Whether a Policy or Secret read through this watch was missing.
    public var missed: Bool { missedOne.load(ordering: .relaxed) }

    private func noting<T>(_ found: T?) -> T? {
        if found == nil { missedOne.store(true, ordering: .relaxed) }
        return found
    }

    public func policy(namespace: String, name: String) -> KubeObject? {
        noting(base.policy(namespace: namespace, name: name))
    }

    public func policyVerdict(namespace: String, name: String) -> PolicyVerdict? {
        noting(base.policyVerdict(namespace: namespace, name: name))
    }

    public func secret(namespace: String, name: String) -> KubeObject? {
        noting(base.secret(namespace: namespace, name: name))
    }

    public func policyReferrers(namespace: String, name: String) -> [KubeObject] {
        base.policyReferrers(namespace: namespace, name: name)
    }

    public func secretReferrers(namespace: String, name: String) -> [KubeObject] {
        base.secretReferrers(namespace: namespace, name: name)
    }

    public func secretContentFailures(_ key: ObjectKey, requiredType: String, compute: () -> [Finding]) -> [Finding] {
        base.secretContentFailures(key, requiredType: requiredType, compute: compute)
    }
}
