import KubeModel
import Rules

/// An object as the live view keeps it: stripped of what no rule reads, with the references it
/// makes (so an update can retract them without re-reading the old object) and, for a Secret,
/// the verdict on its content computed once at ingest, while the private key was still there; for a
/// Policy, its verdict, so that reviews naming it do not judge it again.
public struct StoredObject: Sendable {
    /// Set at ingest only: the verdicts below are computed from it.
    public internal(set) var object: KubeObject
    public var key: ObjectKey
    public var source: WatchSource
    public var resourceVersion: String?
    var policyReferences: [ObjectKey]
    var secretReferences: [ObjectKey]
    /// Deny findings that make the Secret unusable as its own type, computed at ingest while the
    /// private key was still there (it is gone from `object` now); `nil` for non-Secrets.
    public internal(set) var contentFailures: [Finding]?
    /// A Policy's view and validity, computed once at ingest; `nil` for other objects.
    public internal(set) var policyVerdict: PolicyVerdict?
}
