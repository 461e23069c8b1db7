import Foundation
import KubeModel
import Synchronization

/// A namespaced object's identity within one kind.
public struct ObjectKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// `namespace/name`
    public var description: String { String(concatenating: namespace, "/", name) }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }
}

/// A read-only view of the cluster objects the "needs state" rules look at.
///
/// Implementations answer from indexes built ahead of time: rules call these once per reference
/// on every admission request, so a lookup must not scan the cluster.
public protocol ClusterSnapshot: Sendable {
    /// The `k8s.nginx.org` Policy `namespace/name`, if it exists.
    func policy(namespace: String, name: String) -> KubeObject?
    /// The v1 Secret `namespace/name`, if it exists.
    func secret(namespace: String, name: String) -> KubeObject?
    /// Ingresses, VirtualServers and VirtualServerRoutes that reference the Policy `namespace/name`
    /// (the `nginx.org/policies` annotation, `spec.policies`, `routes[].policies`, `subroutes[].policies`).
    func policyReferrers(namespace: String, name: String) -> [KubeObject]
    /// Policies (`clientCertSecret`, `tlsSecret`, `trustedCertSecret`), Ingresses (`spec.tls[].secretName`)
    /// and VirtualServers (`spec.tls.secret`) that name the Secret `namespace/name`.
    func secretReferrers(namespace: String, name: String) -> [KubeObject]
    /// The deny findings that make the Secret `key` unusable as `requiredType`, computed by
    /// `compute` at most once per Secret where the snapshot can remember it: parsing certificates
    /// and matching keys is the dearest work a review does, and the Secret does not change while
    /// the snapshot lives.
    func secretContentFailures(_ key: ObjectKey, requiredType: String, compute: () -> [Finding]) -> [Finding]
    /// The Policy `namespace/name` as the reference rules read it, if it exists. Every review that
    /// names a Policy asks this; snapshots that can, read each Policy version once, not per review.
    func policyVerdict(namespace: String, name: String) -> PolicyVerdict?
}

extension ClusterSnapshot {
    public func secretContentFailures(_ key: ObjectKey, requiredType: String, compute: () -> [Finding]) -> [Finding] {
        compute()
    }

    public func policyVerdict(namespace: String, name: String) -> PolicyVerdict? {
        policy(namespace: namespace, name: name).map(PolicyVerdict.init)
    }
}

/// What the reference rules read of a Policy: its view, and whether NIC accepts it
/// (`PolicyRules.isValid`). Neither depends on the review, the time or the settings, so it belongs
/// with the Policy, computed when the Policy arrives. A class: each review naming the Policy
/// passes it along, and copying the view's fields cost a retain and a release each.
public final class PolicyVerdict: Sendable {
    public let view: PolicyView
    public let isValid: Bool

    public init(_ policy: KubeObject) {
        view = PolicyView(policy)
        isValid = PolicyRules.isValid(view)
    }
}

/// A `ClusterSnapshot` over a fixed set of objects: the offline CLI's inputs, `--state` manifests, tests.
///
/// All indexes are built once in `init`; lookups are dictionary reads.
public final class InMemorySnapshot: ClusterSnapshot {
    private let policies: [ObjectKey: KubeObject]
    /// Each Policy's verdict, computed here once: lookups take no lock.
    private let policyVerdicts: [ObjectKey: PolicyVerdict]
    private let secrets: [ObjectKey: KubeObject]
    private let policyReferrersByKey: [ObjectKey: [KubeObject]]
    private let secretReferrersByKey: [ObjectKey: [KubeObject]]
    private struct VerdictKey: Hashable {
        var secret: ObjectKey
        var requiredType: String
    }
    private let secretVerdicts = Mutex<[VerdictKey: [Finding]]>([:])

    /// Indexes `objects`; of two objects with the same kind and `namespace/name`, the later wins.
    public init(objects: [KubeObject]) {
        var policies: [ObjectKey: KubeObject] = [:]
        var secrets: [ObjectKey: KubeObject] = [:]
        var referrers: [ResourceKind: [ObjectKey: KubeObject]] = [:]
        for object in objects {
            guard let kind = ResourceKind(object) else { continue }
            let key = ObjectKey(namespace: object.metadata.namespace ?? "default", name: object.name)
            switch kind {
            case .policy: policies[key] = object
            case .secret: secrets[key] = object
            default: break
            }
            referrers[kind, default: [:]][key] = object
        }
        var policyReferrersByKey: [ObjectKey: [KubeObject]] = [:]
        var secretReferrersByKey: [ObjectKey: [KubeObject]] = [:]
        // Sorted by kind and key so every answer has a deterministic order.
        for kind in ResourceKind.allCases {
            for (_, object) in (referrers[kind] ?? [:]).sorted(by: { $0.key < $1.key }) {
                for key in Set(References.policies(of: object, kind: kind)) {
                    policyReferrersByKey[key, default: []].append(object)
                }
                for key in Set(References.secrets(of: object, kind: kind)) {
                    secretReferrersByKey[key, default: []].append(object)
                }
            }
        }
        self.policies = policies
        policyVerdicts = policies.mapValues(PolicyVerdict.init)
        self.secrets = secrets
        self.policyReferrersByKey = policyReferrersByKey
        self.secretReferrersByKey = secretReferrersByKey
    }

    public func policy(namespace: String, name: String) -> KubeObject? {
        policies[ObjectKey(namespace: namespace, name: name)]
    }

    public func secret(namespace: String, name: String) -> KubeObject? {
        secrets[ObjectKey(namespace: namespace, name: name)]
    }

    public func policyVerdict(namespace: String, name: String) -> PolicyVerdict? {
        policyVerdicts[ObjectKey(namespace: namespace, name: name)]
    }

    public func policyReferrers(namespace: String, name: String) -> [KubeObject] {
        policyReferrersByKey[ObjectKey(namespace: namespace, name: name)] ?? []
    }

    public func secretReferrers(namespace: String, name: String) -> [KubeObject] {
        secretReferrersByKey[ObjectKey(namespace: namespace, name: name)] ?? []
    }

    /// Computes the verdict of every `nginx.org/ca` and `kubernetes.io/tls` Secret now, as the live
    /// view does when a Secret arrives: the webhook's fixed view (`serve --state`) calls it before it
    /// is ready, so that no review, least of all one judged on an event loop, parses certificates
    /// or keys of the state.
    public func computeSecretVerdicts() {
        for (key, secret) in secrets {
            let type = SecretView.type(of: secret)
            guard type == SecretView.caType || type == SecretView.tlsType else { continue }
            _ = secretContentFailures(key, requiredType: type) { ReferenceIndex.contentFailures(ofSecret: secret) }
        }
    }

    public func secretContentFailures(_ key: ObjectKey, requiredType: String, compute: () -> [Finding]) -> [Finding] {
        let verdictKey = VerdictKey(secret: key, requiredType: requiredType)
        if let known = secretVerdicts.withLock({ $0[verdictKey] }) { return known }
        // Computed outside the lock: two racing reviews may both compute, never block each other.
        let failures = compute()
        secretVerdicts.withLock { $0[verdictKey] = failures }
        return failures
    }
}

/// A snapshot with one object replaced (or added): "what if this UPDATE were applied".
struct OverlaySnapshot: ClusterSnapshot {
    let base: any ClusterSnapshot
    /// The overriding Policy and its verdict: new content, judged once here, never the base's memory.
    let policyOverride: (key: ObjectKey, object: KubeObject, verdict: PolicyVerdict)?
    let secretOverride: (key: ObjectKey, object: KubeObject)?

    init(base: any ClusterSnapshot, policy: KubeObject? = nil, secret: KubeObject? = nil) {
        self.base = base
        policyOverride = policy.map { (ObjectKey(namespace: $0.metadata.namespace ?? "default", name: $0.name), $0, PolicyVerdict($0)) }
        secretOverride = secret.map { (ObjectKey(namespace: $0.metadata.namespace ?? "default", name: $0.name), $0) }
    }

    func policy(namespace: String, name: String) -> KubeObject? {
        if let policyOverride, policyOverride.key == ObjectKey(namespace: namespace, name: name) { return policyOverride.object }
        return base.policy(namespace: namespace, name: name)
    }

    func secret(namespace: String, name: String) -> KubeObject? {
        if let secretOverride, secretOverride.key == ObjectKey(namespace: namespace, name: name) { return secretOverride.object }
        return base.secret(namespace: namespace, name: name)
    }

    func policyVerdict(namespace: String, name: String) -> PolicyVerdict? {
        if let policyOverride, policyOverride.key == ObjectKey(namespace: namespace, name: name) {
            return policyOverride.verdict
        }
        return base.policyVerdict(namespace: namespace, name: name)
    }

    func policyReferrers(namespace: String, name: String) -> [KubeObject] { base.policyReferrers(namespace: namespace, name: name) }
    func secretReferrers(namespace: String, name: String) -> [KubeObject] { base.secretReferrers(namespace: namespace, name: name) }

    func secretContentFailures(_ key: ObjectKey, requiredType: String, compute: () -> [Finding]) -> [Finding] {
        // The overriding Secret is new content: never answer it from the base's memory.
        if let secretOverride, secretOverride.key == key { return compute() }
        return base.secretContentFailures(key, requiredType: requiredType, compute: compute)
    }
}

/// The kinds the rule catalogue knows, by API group and kind.
enum ResourceKind: CaseIterable, Sendable {
    case policy, ingress, virtualServer, virtualServerRoute, secret, workload

    init?(_ object: KubeObject) {
        self.init(group: object.group, kind: object.kind)
    }

    init?(group: String, kind: String) {
        switch (group, kind) {
        case ("k8s.nginx.org", "Policy"): self = .policy
        case ("networking.k8s.io", "Ingress"): self = .ingress
        case ("k8s.nginx.org", "VirtualServer"): self = .virtualServer
        case ("k8s.nginx.org", "VirtualServerRoute"): self = .virtualServerRoute
        case ("", "Secret"): self = .secret
        case ("", _), ("apps", _), ("batch", _):
            guard MeshRules.workloadKinds.contains(kind) else { return nil }
            self = .workload
        default: return nil
        }
    }
}

/// Which Policies and Secrets an object names, resolved to `namespace/name`.
enum References {
    static func policies(of object: KubeObject, kind: ResourceKind) -> [ObjectKey] {
        let namespace = object.metadata.namespace ?? "default"
        switch kind {
        case .ingress:
            // As the rules resolve them, so a huge list is not indexed, nor fetched item by item.
            return PolicyAnnotation.references(in: object.metadata.annotations, namespace: namespace).map(\.key)
        case .virtualServer:
            let view = VirtualServerView(object)
            return (view.policies + view.routes.flatMap(\.policies)).compactMap { $0.objectKey(defaultNamespace: namespace) }
        case .virtualServerRoute:
            return VirtualServerRouteView(object).subroutes.flatMap(\.policies).compactMap { $0.objectKey(defaultNamespace: namespace) }
        case .policy, .secret, .workload:
            return []
        }
    }

    static func secrets(of object: KubeObject, kind: ResourceKind) -> [ObjectKey] {
        let namespace = object.metadata.namespace ?? "default"
        var names: [String?] = []
        switch kind {
        case .policy:
            let view = PolicyView(object)
            names = [view.ingressMTLS?.clientCertSecret.value, view.egressMTLS?.tlsSecret.value,
                     view.egressMTLS?.trustedCertSecret.value]
        case .ingress:
            names = IngressView(object).tls.map(\.secretName.value)
        case .virtualServer:
            names = [VirtualServerView(object).tlsSecret.value]
        case .virtualServerRoute, .secret, .workload:
            break
        }
        return names.compactMap { name in
            guard let name, !name.isEmpty else { return nil }
            return ObjectKey(namespace: namespace, name: name)
        }
    }
}

extension PolicyReferenceView {
    func objectKey(defaultNamespace: String) -> ObjectKey? {
        key(defaultNamespace: defaultNamespace).map { ObjectKey(namespace: $0.namespace, name: $0.name) }
    }
}
