import Foundation
import Certificates
import KubeModel

/// Section 2 of docs/rules.md: the Secrets an mTLS Policy names (needs state).
public enum PolicyReferenceRules {
    /// Rule IDs of this family, for `Evaluation.skippedStateRules`.
    public static let ruleIDs: [RuleID] = [
        "ingress-mtls/client-cert-secret-ref", "egress-mtls/tls-secret-ref", "egress-mtls/trusted-cert-secret-ref",
        "ingress-mtls/crl-conflict", "ingress-mtls/verify-depth-chain",
    ]

    public static func findings(_ policy: PolicyView, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let context = StateContext(snapshot: snapshot, settings: settings)
        var findings: [Finding] = []
        if let ingress = policy.ingressMTLS {
            findings += ingressMTLSFindings(ingress, policy: policy, context: context)
        }
        if let egress = policy.egressMTLS {
            let path = FieldPath("spec", "egressMTLS")
            findings += secretReference(egress.tlsSecret, policy: policy, rule: "egress-mtls/tls-secret-ref",
                                        requiredType: SecretView.tlsType, usage: "egressMTLS tlsSecret",
                                        at: path.child("tlsSecret"), context: context).findings
            findings += secretReference(egress.trustedCertSecret, policy: policy, rule: "egress-mtls/trusted-cert-secret-ref",
                                        requiredType: SecretView.caType, usage: "egressMTLS trustedCertSecret",
                                        at: path.child("trustedCertSecret"), context: context).findings
        }
        return findings
    }

    static func ingressMTLSFindings(_ spec: IngressMTLSView, policy: PolicyView, context: StateContext) -> [Finding] {
        let path = FieldPath("spec", "ingressMTLS")
        let (findings, caSecret) = secretReference(
            spec.clientCertSecret, policy: policy, rule: "ingress-mtls/client-cert-secret-ref",
            requiredType: SecretView.caType, usage: "ingressMTLS clientCertSecret",
            at: path.child("clientCertSecret"), context: context)
        guard let caSecret = caSecret.map(SecretView.init) else { return findings }
        var result = findings
        if caSecret.data["ca.crl"] != nil, let crlFileName = PolicyRules.unsetIfEmpty(spec.crlFileName).value {
            result.append(Finding(
                rule: "ingress-mtls/crl-conflict", severity: .warn, field: path.child("crlFileName"),
                message: "Secret \(FieldError.quote(caSecret.metadata.name ?? "")) has ca.crl, but crlFileName \(FieldError.quote(crlFileName)) is set: NIC ignores ca.crl; remove one of them"))
        }
        if let finding = VerifyDepthChain.finding(caSecret: caSecret, verifyDepth: spec.verifyDepth, at: path.child("verifyDepth")) {
            result.append(finding)
        }
        return result
    }

    /// Checks one Secret reference of the Policy; returns the usable Secret for follow-up rules.
    static func secretReference(
        _ field: FieldValue<String>, policy: PolicyView, rule: RuleID, requiredType: String, usage: String,
        at path: FieldPath, context: StateContext
    ) -> (findings: [Finding], secret: KubeObject?) {
        // An unreadable or malformed name is a section 1 finding, and "" is unset; there is nothing to look up.
        guard let name = PolicyRules.unsetIfEmpty(field).value, PolicyRules.secretNameProblem(name) == nil else { return ([], nil) }
        let key = ObjectKey(namespace: policy.namespace, name: name)
        switch context.secret(key, requiredType: requiredType, usage: usage) {
        case .missing:
            return ([Finding(rule: rule, severity: context.missingSeverity, field: path, message: StateContext.missingMessage(
                kind: "Secret", key: key, consequence: "NIC serves 500 wherever Policy \(FieldError.quote(policy.name)) applies"))], nil)
        case .unusable(let reason):
            return ([Finding(rule: rule, severity: .deny, field: path,
                             message: FieldError.invalid(name, reason + ": NIC serves 500 wherever this Policy applies"))], nil)
        case .usable(let secret):
            return ([], secret)
        }
    }
}

/// `ingress-mtls/verify-depth-chain`: is `verifyDepth` deep enough for the CA bundle's intermediates?
enum VerifyDepthChain {
    /// NGINX's `ssl_verify_depth` default, which NIC keeps when `verifyDepth` is unset.
    static let defaultDepth: Int64 = 1

    static func finding(caSecret: SecretView, verifyDepth: FieldValue<Int64>, at path: FieldPath) -> Finding? {
        // A wrong-typed or negative depth is a section 1 finding; an unreadable bundle is secret/ca's.
        let depth: Int64
        switch verifyDepth {
        case .absent: depth = defaultDepth
        case .value(let value) where value >= 0: depth = value
        default: return nil
        }
        // Read as secret/ca reads it: comments around the blocks are no reason to stay quiet.
        let read = caSecret.data["ca.crt"].map { SecretRules.readCertificateBundle($0, ignoringTextOutsideBlocks: true) }
        guard let read, read.problems.isEmpty, !read.certificates.isEmpty,
              case let bundle = read.certificates.map(\.certificate),
              let intermediates = ChainAnalysis.intermediatesBelowRoot(bundle: bundle),
              depth < Int64(intermediates)
        else { return nil }
        let setting = verifyDepth.isSet ? "verifyDepth \(depth)" : "verifyDepth (unset, so NGINX's default \(depth))"
        return Finding(rule: "ingress-mtls/verify-depth-chain", severity: .warn, field: path,
            message: "\(setting) is less than the \(intermediates) intermediate CA(s) in Secret \(FieldError.quote(caSecret.metadata.name ?? "")) ca.crt: every client certificate issued by the deepest CA is rejected; set verifyDepth: \(intermediates)")
    }
}
