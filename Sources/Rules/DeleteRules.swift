import Foundation
import KubeModel

/// Section 8 of docs/rules.md and the stateful Secret rules of section 3: what a DELETE or UPDATE breaks for the objects
/// that reference the changed one.
public enum DeleteRules {
    static let referrerLimit = 5

    /// `Kind namespace/name`
    static func describe(_ object: KubeObject) -> String {
        "\(object.kind) \(object.metadata.namespace ?? "default")/\(object.name)"
    }

    /// Referrers this NIC actually serves: objects of other ingress classes are never checked (docs/rules.md, "Never checked").
    static func servedReferrers(_ objects: [KubeObject], settings: Settings) -> [KubeObject] {
        objects.filter(settings.checks)
    }

    // MARK: Policies

    /// policy/in-use-delete
    public static func policyDeleteFindings(_ policy: KubeObject, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let namespace = policy.metadata.namespace ?? "default"
        let referrers = servedReferrers(snapshot.policyReferrers(namespace: namespace, name: policy.name), settings: settings)
        guard !referrers.isEmpty else { return [] }
        return [Finding(rule: "policy/in-use-delete", severity: .deny, field: FieldPath("metadata", "name"),
            message: "Forbidden: Policy \(FieldError.quote("\(namespace)/\(policy.name)")) is referenced by \(boundedList(referrers.map(describe), limit: referrerLimit)): NIC would serve 500 there; remove the references first")]
    }

    /// policy/in-use-update: deny findings that referencing objects would gain with the new Policy.
    public static func policyUpdateFindings(old: KubeObject?, new policy: KubeObject, snapshot: any ClusterSnapshot,
                                            settings: Settings) -> [Finding] {
        let namespace = policy.metadata.namespace ?? "default"
        let referrers = servedReferrers(snapshot.policyReferrers(namespace: namespace, name: policy.name), settings: settings)
        guard !referrers.isEmpty else { return [] }
        let before: any ClusterSnapshot = old.map { OverlaySnapshot(base: snapshot, policy: $0) } ?? snapshot
        let after = OverlaySnapshot(base: snapshot, policy: policy)
        var broken: [String] = []
        for referrer in referrers where !ReviewCancellation.isCurrentCancelled {
            func denials(_ state: any ClusterSnapshot) -> Set<String> {
                Set(RuleEngine.referenceFindings(of: referrer, snapshot: state, settings: settings)
                    .filter { $0.severity == .deny }.map { "\($0.rule)" })
            }
            let newRules = denials(after).subtracting(denials(before))
            if !newRules.isEmpty {
                broken.append("\(describe(referrer)) (\(newRules.sorted().joined(separator: ", ")))")
            }
        }
        guard !broken.isEmpty else { return [] }
        return [Finding(rule: "policy/in-use-update", severity: .deny, field: FieldPath("spec"),
            message: "Forbidden: this change breaks objects that reference Policy \(FieldError.quote("\(namespace)/\(policy.name)")): \(boundedList(broken, limit: referrerLimit)); fix them first or keep the Policy compatible")]
    }

    // MARK: Secrets

    /// One use of a Secret by an object, and the type that use requires.
    struct SecretUse {
        var referrer: KubeObject
        var field: String
        var requiredType: String

        var description: String { "\(DeleteRules.describe(referrer)) (\(field))" }
    }

    /// The uses that make a Secret "in use" (section 3): Secret fields of mTLS Policies, and TLS Secrets of
    /// Ingresses and VirtualServers protected by an ingressMTLS Policy.
    /// - Parameter storedType: the type of the Secret as stored, the one NIC reads (DELETE's
    ///   `oldObject`, UPDATE's `oldObject` when the review has it).
    static func secretUses(_ secret: KubeObject, storedType: String, snapshot: any ClusterSnapshot, settings: Settings) -> [SecretUse] {
        let namespace = secret.metadata.namespace ?? "default"
        let name = secret.name
        let context = StateContext(snapshot: snapshot, settings: settings)
        var uses: [SecretUse] = []
        for referrer in servedReferrers(snapshot.secretReferrers(namespace: namespace, name: name), settings: settings)
            where !ReviewCancellation.isCurrentCancelled {
            switch ResourceKind(referrer) {
            case .policy?:
                let view = PolicyView(referrer)
                if view.ingressMTLS?.clientCertSecret.value == name {
                    uses.append(SecretUse(referrer: referrer, field: "clientCertSecret", requiredType: SecretView.caType))
                }
                if view.egressMTLS?.tlsSecret.value == name {
                    uses.append(SecretUse(referrer: referrer, field: "tlsSecret", requiredType: SecretView.tlsType))
                }
                if view.egressMTLS?.trustedCertSecret.value == name {
                    uses.append(SecretUse(referrer: referrer, field: "trustedCertSecret", requiredType: SecretView.caType))
                }
            case .ingress?:
                let view = IngressView(referrer)
                let protected = PolicyAnnotation.references(in: view.annotations, namespace: view.namespace)
                    .contains { context.policy($0.key)?.isIngressMTLS == true }
                if protected, view.tls.contains(where: { $0.secretName.value == name }) {
                    uses.append(SecretUse(referrer: referrer, field: "TLS of an ingressMTLS host", requiredType: SecretView.tlsType))
                }
            case .virtualServer?:
                let view = VirtualServerView(referrer)
                let protected = view.policies.contains { entry in
                    entry.objectKey(defaultNamespace: view.namespace).flatMap { context.policy($0) }?.isIngressMTLS == true
                }
                if protected, view.tlsSecret.value == name {
                    uses.append(SecretUse(referrer: referrer, field: "TLS of an ingressMTLS host", requiredType: SecretView.tlsType))
                }
            default:
                break
            }
        }
        // A Secret of the wrong type serves none of these uses (NIC already serves 500 there, and a
        // Secret's type is immutable): deleting or changing it takes nothing away.
        return uses.filter { $0.requiredType == storedType }
    }

    /// secret/in-use-delete
    public static func secretDeleteFindings(_ secret: KubeObject, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let uses = secretUses(secret, storedType: SecretView.type(of: secret), snapshot: snapshot, settings: settings)
        guard !uses.isEmpty else { return [] }
        let key = "\(secret.metadata.namespace ?? "default")/\(secret.name)"
        return [Finding(rule: "secret/in-use-delete", severity: .deny, field: FieldPath("metadata", "name"),
            message: "Forbidden: Secret \(FieldError.quote(key)) is in use by \(boundedList(uses.map(\.description), limit: referrerLimit)): NIC would serve 500 there; remove the references first")]
    }

    /// secret/in-use-update: the new content fails `secret/ca` or `secret/tls` for a use that needs it.
    /// - Parameter previous: the Secret as stored (UPDATE's `oldObject`): its type says what NIC uses it as.
    /// - Parameter contentFindings: `SecretRules.contentFindings` of `secret` rooted at `data`, when the
    ///   caller has them already; computed here otherwise.
    public static func secretUpdateFindings(_ secret: KubeObject, previous: KubeObject? = nil, contentFindings: [Finding]? = nil,
                                            snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let uses = secretUses(secret, storedType: SecretView.type(of: previous ?? secret), snapshot: snapshot, settings: settings)
        guard !uses.isEmpty else { return [] }
        let type = SecretView.type(of: secret)
        // The data (private key included) is decoded only when the caller has no content findings.
        let content = contentFindings ?? SecretRules.contentFindings(SecretView(secret), root: FieldPath("data"), settings: settings)
        var findings: [Finding] = []
        for requiredType in [SecretView.caType, SecretView.tlsType] {
            let needing = uses.filter { $0.requiredType == requiredType }
            guard !needing.isEmpty else { continue }
            let users = boundedList(needing.map(\.description), limit: referrerLimit)
            if type != requiredType {
                findings.append(Finding(rule: "secret/in-use-update", severity: .deny, field: FieldPath("type"),
                    message: FieldError.invalid(type, "\(users) need type \(FieldError.quote(requiredType)): NIC would serve 500 there; keep the type")))
            } else if let failure = StateContext.contentFailures(content, requiredType: requiredType).first {
                findings.append(Finding(rule: "secret/in-use-update", severity: .deny, field: failure.field,
                    message: "Forbidden: the new content fails \(failure.rule) (\(failure.message)) while \(users) use this Secret: NIC would serve 500 there"))
            }
        }
        return findings
    }
}
