import ClusterState
import KubeModel
import Rules

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
    }

    /// Reads the view for `request`: dictionary reads only, so it runs wherever the review is
    /// judged (the connection's event loop or a review worker).
    public func read(for request: AdmissionRequest) -> Reading {
        guard let live else { return Reading(snapshot: fixed) }
        guard let base = live.snapshot else { return Reading(snapshot: nil) }
        var reading = Reading(snapshot: base, base: base)
        if let namespace = request.namespace, !namespace.isEmpty,
           let value = base.namespaceLabels(namespace)?[Self.modeLabel] {
            reading.mode = ReviewMode(rawValue: value)
        }
        // Only the kinds that name Policies or Secrets can lack one.
        if request.operation == .create || request.operation == .update,
           ["Ingress", "Policy", "VirtualServer", "VirtualServerRoute"].contains(request.kind.kind),
           let object = ReviewInput(request).subject {
            reading.lookups = ClusterWatcher.missingReferences(of: object, in: base)
        }
        return reading
    }

    /// `reading`'s snapshot with its missing references confirmed by one bounded GET each.
    public func completing(_ reading: Reading) async -> (any ClusterSnapshot)? {
        guard let live, let base = reading.base, reading.needsLookups else { return reading.snapshot }
        return await live.resolving(reading.lookups, in: base)
    }
}
