import ClusterState
import KubeModel
import NIOConcurrencyHelpers
import Rules

/// The cluster view the "needs state" rules read: a fixed snapshot (`--state`, tests) replaced as
/// a whole, or the live view from the API server. Each request reads one snapshot.
///
/// `nil` means no view is available (none configured, or the live view has not synced every
/// source yet); the engine then skips those rules and says so in a warning.
public final class ClusterView: Sendable {
    private let current: NIOLockedValueBox<(any ClusterSnapshot)?>
    /// The live view, when `serve` watches the API server.
    public let live: ClusterWatcher?

    public init(_ snapshot: (any ClusterSnapshot)? = nil) {
        current = NIOLockedValueBox(snapshot)
        live = nil
    }

    public init(live: ClusterWatcher) {
        current = NIOLockedValueBox(nil)
        self.live = live
    }

    public var snapshot: (any ClusterSnapshot)? {
        if let live { return live.snapshot }
        return current.withLockedValue { $0 }
    }

    public func replace(with snapshot: (any ClusterSnapshot)?) {
        current.withLockedValue { $0 = snapshot }
    }

    /// The label of a Namespace that overrides `--mode` for the reviews of its objects.
    public static let modeLabel = "mtls-guard.nginx.org/mode"

    /// The review mode Namespace `namespace` asks for with `mtls-guard.nginx.org/mode`, read from
    /// the live view (never by a request to the API server); `nil` when it asks for none, or for
    /// a value that is no mode (the server's `--mode` applies then).
    public func mode(forNamespace namespace: String?) -> ReviewMode? {
        guard let live, let namespace, !namespace.isEmpty,
              let value = live.store.snapshot.namespaceLabels(namespace)?[Self.modeLabel] else { return nil }
        return ReviewMode(rawValue: value)
    }

    /// The snapshot to judge `request` against. With the live view, references the object makes
    /// that the snapshot lacks are confirmed by one bounded GET each first.
    public func snapshot(for request: AdmissionRequest) async -> (any ClusterSnapshot)? {
        guard let live else { return snapshot }
        guard let base = live.snapshot else { return nil }
        guard request.operation == .create || request.operation == .update,
              case .object(var members)? = request.currentObject
        else { return base }
        if members["apiVersion"]?.stringValue == nil { members["apiVersion"] = .string(request.kind.apiVersion) }
        if members["kind"]?.stringValue == nil { members["kind"] = .string(request.kind.kind) }
        guard var object = KubeObject(.object(members)) else { return base }
        if object.metadata.namespace == nil { object.metadata.namespace = request.namespace }
        return await live.resolvingMissingReferences(of: object, in: base)
    }
}
