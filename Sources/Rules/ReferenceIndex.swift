import Foundation
import KubeModel

/// The references between objects that a `ClusterSnapshot` indexes, for snapshots built outside
/// this module (the live view keeps them up to date one object at a time).
public enum ReferenceIndex {
    /// Policies `object` names (`nginx.org/policies`, `spec.policies`, `routes[].policies`,
    /// `subroutes[].policies`), resolved to `namespace/name`, without duplicates.
    public static func policies(of object: KubeObject) -> [ObjectKey] {
        guard let kind = ResourceKind(object) else { return [] }
        return unique(References.policies(of: object, kind: kind))
    }

    /// Secrets `object` names (Policy secret fields, Ingress `spec.tls[].secretName`, VirtualServer
    /// `spec.tls.secret`), resolved to `namespace/name`, without duplicates.
    public static func secrets(of object: KubeObject) -> [ObjectKey] {
        guard let kind = ResourceKind(object) else { return [] }
        return unique(References.secrets(of: object, kind: kind))
    }

    /// The deny findings that make `secret` unusable as a Secret of its own type (`nginx.org/ca`:
    /// `secret/ca`, `secret/ca-crl`; `kubernetes.io/tls`: `secret/tls`), exactly as the reference
    /// rules compute them. They do not depend on the time or on settings, so a snapshot may compute
    /// them once, when the Secret arrives, and answer `secretContentFailures` from them.
    public static func contentFailures(ofSecret secret: KubeObject) -> [Finding] {
        let type = SecretView.type(of: secret)
        guard type == SecretView.caType || type == SecretView.tlsType else { return [] }
        return StateContext.contentFailures(SecretView(secret), requiredType: type, settings: Settings())
    }

    private static func unique(_ keys: [ObjectKey]) -> [ObjectKey] {
        var distinct = DistinctList<ObjectKey>()
        for key in keys { distinct.insert(key) }
        return distinct.elements
    }
}
