import Foundation
import KubeModel

/// How a reference to another object resolved.
enum Resolution<Target> {
    /// The object does not exist (yet).
    case missing
    /// The object exists but cannot be used; the message says why (one line, no secret data).
    case unusable(String)
    case usable(Target)
}

/// A referenced Policy, read once.
struct ResolvedPolicy {
    var key: ObjectKey
    var verdict: PolicyVerdict
    var view: PolicyView { verdict.view }
    var isValid: Bool { verdict.isValid }

    /// The Policy's `spec.ingressClassName` when it names a class this controller does not serve: NIC's
    /// `getPolicies` then drops it (`HasCorrectIngressClass`), and referencing it is "missing or invalid".
    var foreignClass: String?

    var isIngressMTLS: Bool { view.setTypes == ["ingressMTLS"] }
    var isEgressMTLS: Bool { view.setTypes == ["egressMTLS"] }

    /// The finding for a reference to a Policy NIC cannot use (invalid, or of another class), or `nil`.
    func unusableReason(consequence: String) -> String? {
        if let foreignClass {
            return "Policy has ingressClassName \(FieldError.quote(String(foreignClass.prefix(64)))), not a class this controller serves: NIC ignores it and \(consequence); remove spec.ingressClassName from the Policy or set it to this controller's class"
        }
        if !isValid {
            return "Policy is invalid: \(consequence); fix the Policy first"
        }
        return nil
    }
}

/// What "needs state" rules share: the snapshot, the settings, and how a missing reference is judged.
struct StateContext {
    let snapshot: any ClusterSnapshot
    let settings: Settings

    /// A missing reference warns (objects are applied in any order) unless `--strict-references`.
    var missingSeverity: Severity { settings.strictReferences ? .deny : .warn }

    func policy(_ key: ObjectKey) -> ResolvedPolicy? {
        guard let verdict = snapshot.policyVerdict(namespace: key.namespace, name: key.name) else { return nil }
        let view = verdict.view
        return ResolvedPolicy(key: key, verdict: verdict,
                              foreignClass: view.belongs(to: settings.ingressClasses) ? nil : view.ingressClassName)
    }

    /// Resolves a Secret that must have `requiredType` and content valid per `secret/ca` or `secret/tls`.
    ///
    /// The data is decoded only when the snapshot has no verdict for the Secret yet: a review that
    /// names a known Secret reads its type and the remembered verdict, never its (private) bytes.
    func secret(_ key: ObjectKey, requiredType: String, usage: String) -> Resolution<KubeObject> {
        guard let object = snapshot.secret(namespace: key.namespace, name: key.name) else { return .missing }
        let type = SecretView.type(of: object)
        guard type == requiredType else {
            return .unusable("Secret \(FieldError.quote(key.description)) has type \(FieldError.quote(type)); \(usage) needs type \(FieldError.quote(requiredType))")
        }
        let failures = snapshot.secretContentFailures(key, requiredType: requiredType) {
            Self.contentFailures(SecretView(object), requiredType: requiredType, settings: settings)
        }
        if let failure = failures.first {
            return .unusable("Secret \(FieldError.quote(key.description)) is invalid: \(failure.field): \(failure.message) (\(failure.rule))")
        }
        return .usable(object)
    }

    /// The finding, if any, for a TLS-termination Secret named at `field`: missing (warn, or deny
    /// under `--strict-references`), or not a valid `kubernetes.io/tls` Secret (deny).
    func tlsSecretFindings(rule: RuleID, field: @autoclosure () -> FieldPath, key: ObjectKey, consequence: String) -> [Finding] {
        switch secret(key, requiredType: SecretView.tlsType, usage: "TLS termination") {
        case .missing:
            return [Finding(rule: rule, severity: missingSeverity, field: field(),
                            message: Self.missingMessage(kind: "Secret", key: key, consequence: consequence))]
        case .unusable(let reason):
            return [Finding(rule: rule, severity: .deny, field: field(), message: FieldError.invalid(key.name, reason))]
        case .usable:
            return []
        }
    }

    /// Deny findings of `SecretRules` that make a Secret unusable as `requiredType`.
    static func contentFailures(_ secret: SecretView, requiredType: String, settings: Settings) -> [Finding] {
        contentFailures(SecretRules.contentFindings(secret, root: FieldPath("data"), settings: settings), requiredType: requiredType)
    }

    /// The same, from content findings already computed (rooted at `data`).
    static func contentFailures(_ contentFindings: [Finding], requiredType: String) -> [Finding] {
        let relevant: Set<RuleID> = requiredType == SecretView.caType ? ["secret/ca", "secret/ca-crl"] : ["secret/tls"]
        return contentFindings
            .filter { $0.severity == .deny && relevant.contains($0.rule) }
            .sortedForOutput()
    }

    /// `Not found: Secret "ns/name" does not exist (yet): ...` with the consequence NIC has until it appears.
    static func missingMessage(kind: String, key: ObjectKey, consequence: String) -> String {
        FieldError.notFound(kind, " ", FieldError.quote(key.description), " does not exist (yet): ", consequence, " until it appears")
    }
}

extension Settings {
    /// "Never checked" (docs/rules.md section 9) for any object: Ingresses by the legacy annotation or
    /// class name, NIC custom resources (Policy, VirtualServer, VirtualServerRoute) by
    /// `spec.ingressClassName`. An object with no class, and anything else, is checked.
    public func checks(_ object: KubeObject) -> Bool {
        checks(object, as: ResourceKind(object))
    }

    /// `checks(object)` for an object whose kind is known already (a review's, from its request):
    /// the kind is not read again from `apiVersion`, whose group is a string built per call.
    func checks(_ object: KubeObject, as kind: ResourceKind?) -> Bool {
        let ingressClass: String?
        switch kind {
        case .ingress?:
            ingressClass = IngressView.ingressClass(of: object)
        case .policy?, .virtualServer?, .virtualServerRoute?:
            // NIC's `HasCorrectIngressClass`: an empty class is no class.
            ingressClass = object.raw["spec"]?["ingressClassName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        default:
            return true
        }
        guard let ingressClass else { return true }
        return ingressClasses.contains(ingressClass)
    }
}

/// "a, b, c, d, e and 3 more": bounded lists of objects in one-line messages.
func boundedList(_ items: [String], limit: Int = 5) -> String {
    guard items.count > limit else { return items.joined(separator: ", ") }
    return items.prefix(limit).joined(separator: ", ") + " and \(items.count - limit) more"
}
