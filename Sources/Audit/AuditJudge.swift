import Foundation
import KubeModel
import Rules

/// Judges one object of the view as a CREATE against a snapshot, the way admission would judge
/// it if it were applied now, with two differences that only a view of the whole cluster allows:
///
/// - A Secret from the live view lost its private key at ingest; its content verdict is the one
///   computed then (`ingestedContentFailures`), not a complaint that `tls.key` is missing.
/// - An Ingress, VirtualServer or VirtualServerRoute that uses a Policy whose Secret is unusable
///   fails too (`ingress/policy-ref`, `vs/policy-ref`): NIC serves 500 for its hosts, although
///   admission, which judges the referrer alone, only sees that the Policy is well formed.
public struct AuditJudge: Sendable {
    public var settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    /// The Policy rules whose denials make the Policy unusable for whatever references it.
    static let secretReferenceRules: Set<RuleID> = [
        "ingress-mtls/client-cert-secret-ref", "egress-mtls/tls-secret-ref", "egress-mtls/trusted-cert-secret-ref",
    ]

    /// - Parameters:
    ///   - ingestedContentFailures: for a Secret of the live view, its content verdict from ingest.
    ///   - policyResult: the audit result of a Policy, by `namespace/name` (judged earlier in the pass).
    public func judge(_ object: KubeObject, ingestedContentFailures: [Finding]? = nil, snapshot: (any ClusterSnapshot)?,
                      policyResult: (ObjectKey) -> AuditedObject? = { _ in nil }) -> AuditedObject {
        let subject = AuditSubject(object)
        var findings = RuleEngine.evaluate(ReviewInput(creating: object, namespace: subject.key.namespace),
                                           snapshot: snapshot, settings: settings).findings
        if subject.isSecret, let ingestedContentFailures {
            let type = SecretView.type(of: object)
            let replaced: Set<RuleID> = type == SecretView.caType ? ["secret/ca", "secret/ca-crl"] : ["secret/tls"]
            findings = findings.filter { !replaced.contains($0.rule) } + ingestedContentFailures
        }
        var mTLSSecrets: [ObjectKey] = []
        let kind = (object.group, object.kind)
        if subject.isPolicy {
            let view = PolicyView(object)
            if view.ingressMTLS != nil || view.egressMTLS != nil { mTLSSecrets = ReferenceIndex.secrets(of: object) }
        } else if kind == ("networking.k8s.io", "Ingress") || kind == ("k8s.nginx.org", "VirtualServer")
                    || kind == ("k8s.nginx.org", "VirtualServerRoute") {
            let policies = ReferenceIndex.policies(of: object)
            findings += unusablePolicyFindings(object, policies: policies, existing: findings, policyResult: policyResult)
            if let snapshot, settings.checks(object), policies.contains(where: { key in
                snapshot.policyVerdict(namespace: key.namespace, name: key.name)?.view.ingressMTLS != nil
            }) {
                mTLSSecrets = ReferenceIndex.secrets(of: object)
            }
        }
        return AuditedObject(subject: subject, apiVersion: object.apiVersion,
                             uid: object.raw["metadata"]?["uid"]?.stringValue,
                             findings: Self.withoutRepeats(findings), mTLSSecrets: mTLSSecrets)
    }

    /// `findings` in their order, each once (an object may reference the same Policy twice).
    static func withoutRepeats(_ findings: [Finding]) -> [Finding] {
        var seen = Set<Finding>()
        return findings.filter { seen.insert($0).inserted }
    }

    private func unusablePolicyFindings(_ object: KubeObject, policies: [ObjectKey], existing: [Finding],
                                        policyResult: (ObjectKey) -> AuditedObject?) -> [Finding] {
        guard settings.checks(object) else { return [] }
        let isIngress = object.kind == "Ingress"
        let rule: RuleID = isIngress ? "ingress/policy-ref" : "vs/policy-ref"
        let field = isIngress ? FieldPath("metadata", "annotations").key("nginx.org/policies") : FieldPath("spec", "policies")
        var findings: [Finding] = []
        for key in policies {
            guard let verdict = policyResult(key),
                  let failure = verdict.findings.first(where: { $0.severity == .deny && Self.secretReferenceRules.contains($0.rule) })
            else { continue }
            let quoted = "\"\(key)\""
            // Admission already reported this Policy (missing, invalid): one finding per reference.
            guard !existing.contains(where: { $0.rule == rule && $0.message.contains(quoted) }) else { continue }
            findings.append(Finding(rule: rule, severity: .deny, field: field, message:
                "Invalid value: \(quoted): Policy is unusable (\(failure.rule): \(failure.message)); NIC serves 500 for the hosts that use it"))
        }
        return findings
    }
}
