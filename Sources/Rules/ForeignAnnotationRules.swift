import Foundation
import KubeModel

/// The migration guard of section 4 of docs/rules.md: ingress-nginx's `nginx.ingress.kubernetes.io/*` TLS
/// annotations on an Ingress NIC serves. NIC ignores every one of them, silently, so an Ingress moved over
/// from ingress-nginx keeps annotations that look like mTLS configuration and do nothing.
///
/// Whether the client-auth annotations are covered depends on the type of the referenced Policies: with no
/// `nginx.org/policies`/`nginx.com/policies` at all they are judged here without state
/// (`findings`); otherwise `IngressRules.referenceFindings` calls `clientAuthFindings` once the
/// Policies are resolved.
enum ForeignAnnotationRules {
    static let prefix = "nginx.ingress.kubernetes.io/"
    static let clientAuthSecret = prefix + "auth-tls-secret"
    static let clientAuthVerify = prefix + "auth-tls-verify-client"
    static let clientAuthDepth = prefix + "auth-tls-verify-depth"

    /// ingress-nginx client-certificate annotations and what replaces each in NIC.
    static let clientAuthEquivalents: [(key: String, equivalent: String)] = [
        (clientAuthSecret, "the ingressMTLS Policy's clientCertSecret (a Secret of type nginx.org/ca holding ca.crt) decides"),
        (clientAuthVerify, "set verifyClient in the referenced ingressMTLS Policy instead"),
        (clientAuthDepth, "set verifyDepth in the referenced ingressMTLS Policy instead"),
        (prefix + "auth-tls-error-page", "NIC has no equivalent; remove it"),
        (prefix + "auth-tls-pass-certificate-to-upstream", "NIC has no Policy field for it; remove it"),
        (prefix + "auth-tls-match-cn", "NIC has no Policy field for it; remove it"),
    ]

    /// ingress-nginx upstream-TLS annotations and what replaces each in NIC.
    static let upstreamEquivalents: [(key: String, equivalent: String)] = [
        (prefix + "proxy-ssl-secret", "use an egressMTLS Policy, referenced in nginx.org/policies, with tlsSecret (a kubernetes.io/tls Secret) and trustedCertSecret (an nginx.org/ca Secret holding ca.crt)"),
        (prefix + "proxy-ssl-verify", "set verifyServer: true in an egressMTLS Policy referenced in nginx.org/policies"),
        (prefix + "proxy-ssl-verify-depth", "set verifyDepth in an egressMTLS Policy referenced in nginx.org/policies"),
        (prefix + "proxy-ssl-name", "set sslName in an egressMTLS Policy referenced in nginx.org/policies"),
        (prefix + "proxy-ssl-server-name", "set serverName: true in an egressMTLS Policy referenced in nginx.org/policies"),
        (prefix + "proxy-ssl-protocols", "set protocols in an egressMTLS Policy referenced in nginx.org/policies"),
        (prefix + "proxy-ssl-ciphers", "set ciphers in an egressMTLS Policy referenced in nginx.org/policies"),
    ]

    static let backendProtocol = prefix + "backend-protocol"

    /// The value as a message may show it: a bounded prefix, quoted.
    static func shown(_ value: String) -> String { FieldError.quote(String(value.prefix(64))) }

    /// Findings that need no state: upstream-TLS annotations always; client-auth annotations when the
    /// Ingress references no Policy at all.
    static func findings(_ ingress: IngressView) -> [Finding] {
        let annotations = ingress.annotations
        guard hasIngressNginxAnnotation(annotations) else { return [] }
        var findings: [Finding] = []
        for (key, equivalent) in upstreamEquivalents {
            guard let value = annotations[key] else { continue }
            findings.append(ignored(key, value: value, equivalent))
        }
        if let value = annotations[backendProtocol] {
            switch value.uppercased() {
            case "HTTPS":
                findings.append(ignored(backendProtocol, value: value,
                    "list the backend Services in nginx.org/ssl-services (comma-separated, no spaces) instead"))
            case "GRPCS":
                findings.append(ignored(backendProtocol, value: value,
                    "list the backend Services in both nginx.org/grpc-services and nginx.org/ssl-services instead"))
            default:
                break
            }
        }
        if !PolicyAnnotation.isPresent(in: annotations) {
            findings += clientAuthFindings(ingress, referencesIngressMTLS: false)
        }
        return findings
    }

    /// Whether any annotation is ingress-nginx's. An Ingress has a few annotations: walking their
    /// keys once is cheaper than a hashed lookup of every key these rules know, which most reviews
    /// would make for nothing. Keys shorter than the prefix (NIC's own, `nginx.org/policies`) are
    /// told apart by their length, without walking their bytes.
    static func hasIngressNginxAnnotation(_ annotations: [String: String]) -> Bool {
        let length = prefix.utf8.count
        return annotations.keys.contains { $0.utf8.count >= length && $0.utf8.starts(with: prefix.utf8) }
    }

    /// Whether the Ingress asks ingress-nginx for client-certificate verification.
    static func asksForClientAuth(_ annotations: [String: String]) -> Bool {
        if annotations[clientAuthSecret] != nil { return true }
        if let verify = annotations[clientAuthVerify], verify != "off" { return true }
        return false
    }

    /// ingress-mtls/foreign-client-auth when client verification was asked for and no ingressMTLS Policy is
    /// referenced; otherwise ingress/foreign-mtls-annotation for each auth-tls annotation next to the Policy.
    /// Callers check `hasIngressNginxAnnotation` first.
    static func clientAuthFindings(_ ingress: IngressView, referencesIngressMTLS: Bool) -> [Finding] {
        let annotations = ingress.annotations
        if referencesIngressMTLS {
            return clientAuthEquivalents.compactMap { key, equivalent in
                annotations[key].map { ignored(key, value: $0, equivalent) }
            }
        }
        guard asksForClientAuth(annotations) else { return [] }
        let key = annotations[clientAuthSecret] != nil ? clientAuthSecret : clientAuthVerify
        var carried: [String] = []
        if let verify = annotations[clientAuthVerify] { carried.append("verifyClient: \(shown(verify))") }
        if let depth = annotations[clientAuthDepth] { carried.append("verifyDepth: \(String(depth.prefix(16)))") }
        let carry = carried.isEmpty ? "" : " (carry over \(carried.joined(separator: ", ")))"
        let secretNote = annotations[clientAuthSecret].map {
            "; Secret \(shown($0)) of ingress-nginx is usually of another type or keeps the CA under another key"
        } ?? ""
        return [Finding(rule: "ingress-mtls/foreign-client-auth", severity: .deny,
            field: IngressRules.annotationPath(key),
            message: "Forbidden: \(key) is an ingress-nginx annotation that NIC ignores: NIC would serve this Ingress's hosts WITHOUT client certificate verification; "
                + "create a Policy with spec.ingressMTLS.clientCertSecret naming a Secret of type nginx.org/ca that holds the CA under ca.crt\(carry), "
                + "reference it in nginx.org/policies, and list the hosts in spec.tls\(secretNote)")]
    }

    static func ignored(_ key: String, value: String, _ equivalent: String) -> Finding {
        Finding(rule: "ingress/foreign-mtls-annotation", severity: .warn, field: IngressRules.annotationPath(key),
                message: "\(key): \(shown(value)) is an ingress-nginx annotation and has no effect on NIC: \(equivalent)")
    }
}
