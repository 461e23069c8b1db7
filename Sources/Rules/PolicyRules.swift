import Foundation
import Certificates
import KubeModel

/// Section 1 of docs/rules.md: a Policy on its own (no state). Mirrors NIC's `validatePolicySpec`, plus
/// the checks marked "beyond NIC", accumulating every violation with its field path.
///
/// Empty means unset: NIC treats a string field set to `""` as unset and applies its default
/// (`validateSecretName`, `validateSSLName`, `addIngressMTLSConfig`, `addEgressMTLSConfig`), so every
/// string field is read through `unsetIfEmpty` first.
public enum PolicyRules {
    static let verifyClientValues = ["off", "on", "optional", "optional_no_ca"]
    static let knownProtocols = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    static let weakProtocols: Set<String> = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]
    /// NIC's `proxy_ssl_protocols` when the Policy does not set `protocols`.
    static let defaultProtocols = ["TLSv1", "TLSv1.1", "TLSv1.2"]

    /// Which rules a judgement runs: all of them, or only those NIC itself checks (`isValid`).
    enum Scope {
        case all
        case checkedByNIC
    }

    /// Every section 1 finding for `policy`.
    public static func findings(_ policy: PolicyView) -> [Finding] {
        findings(policy, scope: .all)
    }

    static func findings(_ policy: PolicyView, scope: Scope) -> [Finding] {
        var findings = oneTypeFindings(policy)
        let malformed = Set(policy.shapeProblems.map(\.path))
        if let ingress = policy.ingressMTLS, !malformed.contains("spec.ingressMTLS") {
            findings += ingressMTLSFindings(ingress, at: FieldPath("spec", "ingressMTLS"), scope: scope)
        }
        if let egress = policy.egressMTLS, !malformed.contains("spec.egressMTLS") {
            findings += egressMTLSFindings(egress, at: FieldPath("spec", "egressMTLS"), scope: scope)
        }
        return findings
    }

    /// `true` when NIC would accept the Policy: no deny finding of section 1 (NIC's "invalid" Policy state).
    ///
    /// Only rules NIC itself checks count: a Policy that breaks a "beyond NIC" rule (its `protocols`, say) is
    /// still accepted by NIC, so the objects referencing it are not served 500 for it.
    /// Every referrer of a Policy asks this on every review: the "beyond NIC" checks (one of them
    /// builds an OpenSSL context) are not run at all rather than run and ignored.
    public static func isValid(_ policy: PolicyView) -> Bool {
        !findings(policy, scope: .checkedByNIC).contains { $0.severity == .deny && RuleCatalogue.descriptor(for: $0.rule)?.checkedByController != false }
    }

    // MARK: policy/one-type

    static func oneTypeFindings(_ policy: PolicyView) -> [Finding] {
        func deny(_ field: FieldPath, _ message: String) -> Finding {
            Finding(rule: "policy/one-type", severity: .deny, field: field, message: message)
        }
        var findings = policy.shapeProblems
            .filter { ["spec", "spec.ingressMTLS", "spec.egressMTLS"].contains($0.path) }
            .map { deny(FieldPath($0.path), $0.message) }
        if policy.shapeProblems.contains(where: { $0.path == "spec" }) { return findings }
        // Every member but ingressClassName is a type (`PolicyView.setTypes`): no closed list, as NIC's own
        // `validatePolicySpec` counts whatever its CRD lets through.
        switch policy.setTypes.count {
        case 0:
            findings.append(deny(FieldPath("spec"), FieldError.required(
                "spec must set exactly one policy type, such as ingressMTLS (client certificates) or egressMTLS (upstream certificates)")))
        case 1:
            break
        default:
            let types = boundedList(policy.setTypes.map { String($0.prefix(64)) })
            let hint = Set(policy.setTypes).isSuperset(of: ["ingressMTLS", "egressMTLS"])
                ? "put ingressMTLS and egressMTLS in separate Policies" : "split it into one Policy per type and reference each"
            findings.append(deny(FieldPath("spec"),
                "Invalid value: \(types): spec must set exactly one policy type; NIC rejects the Policy: \(hint)"))
        }
        return findings
    }

    // MARK: ingressMTLS

    static func ingressMTLSFindings(_ spec: IngressMTLSView, at path: FieldPath, scope: Scope = .all) -> [Finding] {
        var findings: [Finding] = []
        func deny(_ rule: RuleID, _ field: String, _ message: String) {
            findings.append(Finding(rule: rule, severity: .deny, field: path.child(field), message: message))
        }

        switch unsetIfEmpty(spec.clientCertSecret) {
        case .absent:
            deny("ingress-mtls/client-cert-secret", "clientCertSecret",
                 FieldError.required("name of the nginx.org/ca Secret with the client CA, in the Policy's namespace"))
        case .wrongType(let raw):
            deny("ingress-mtls/client-cert-secret", "clientCertSecret", FieldError.wrongType(raw, expected: "a string"))
        case .value(let name):
            if let problem = secretNameProblem(name) { deny("ingress-mtls/client-cert-secret", "clientCertSecret", FieldError.invalid(name, problem)) }
        }

        switch unsetIfEmpty(spec.verifyClient) {
        case .absent:
            break
        case .wrongType(let raw):
            var hint: String?
            if let bool = raw.boolValue {
                hint = "YAML reads unquoted on/off/yes/no as a boolean: quote it (verifyClient: \"\(bool ? "on" : "off")\")"
            }
            deny("ingress-mtls/verify-client", "verifyClient", FieldError.wrongType(raw, expected: "a string", hint: hint))
        case .value(let value):
            if !verifyClientValues.contains(value) {
                deny("ingress-mtls/verify-client", "verifyClient", FieldError.unsupported(value, supported: verifyClientValues))
            } else if value == "off" {
                findings.append(Finding(
                    rule: "ingress-mtls/no-verification", severity: .warn, field: path.child("verifyClient"),
                    message: "verifyClient \"off\" requests no client certificate: this Policy does not authenticate clients; use \"on\""))
            } else if value == "optional_no_ca" {
                findings.append(Finding(
                    rule: "ingress-mtls/no-verification", severity: .warn, field: path.child("verifyClient"),
                    message: "verifyClient \"optional_no_ca\" does not verify client certificates against the CA: this Policy does not authenticate clients; use \"on\" or \"optional\""))
            } else if value == "optional" {
                findings.append(Finding(
                    rule: "ingress-mtls/optional-client", severity: .warn, field: path.child("verifyClient"),
                    message: "verifyClient \"optional\" lets a client without a certificate through: only the application, reading $ssl_client_verify, can refuse it; use \"on\" to have NGINX refuse such clients"))
            }
        }

        if let finding = verifyDepthFinding(spec.verifyDepth, rule: "ingress-mtls/verify-depth", at: path.child("verifyDepth")) {
            findings.append(finding)
        }

        switch scope == .all ? unsetIfEmpty(spec.crlFileName) : .absent {  // beyond NIC
        case .absent:
            break
        case .wrongType(let raw):
            deny("ingress-mtls/crl-file-name", "crlFileName", FieldError.wrongType(raw, expected: "a string"))
        case .value(let name):
            if let problem = crlFileNameProblem(name) { deny("ingress-mtls/crl-file-name", "crlFileName", FieldError.invalid(name, problem)) }
        }
        return findings
    }

    /// `""` reads as unset, as NIC reads it (see the type's documentation).
    static func unsetIfEmpty(_ field: FieldValue<String>) -> FieldValue<String> {
        if case .value(let text) = field, text.isEmpty { return .absent }
        return field
    }

    static func secretNameProblem(_ name: String) -> String? {
        if name.contains("/") {
            return "must be a Secret name without a namespace: the Secret is always read from the Policy's namespace"
        }
        return NameValidation.dns1123SubdomainProblem(name)
    }

    static func crlFileNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 255 { return "must be no more than 255 characters" }
        if name == "." || name.contains("..") { return "must not contain \"..\"" }
        let forbidden: Set<Character> = ["/", ";", "{", "}", "$", "\"", "'", "`", "\\"]
        if name.contains(where: { forbidden.contains($0) || $0.isWhitespace || $0.isNewline }) {
            return "must be a plain file name (no '/', whitespace, ';', '{', '}', '$' or quotes): NIC writes it into the NGINX configuration"
        }
        return nil
    }

    static func verifyDepthFinding(_ field: FieldValue<Int64>, rule: RuleID, at path: FieldPath) -> Finding? {
        switch field {
        case .absent:
            return nil
        case .wrongType(let raw):
            let hint = raw.stringValue.flatMap { Int64($0) } != nil ? "remove the quotes" : nil
            return Finding(rule: rule, severity: .deny, field: path,
                           message: FieldError.wrongType(raw, expected: "an integer", hint: hint))
        case .value(let depth):
            guard depth < 0 else { return nil }
            return Finding(rule: rule, severity: .deny, field: path,
                           message: "Invalid value: \(depth): must be greater than or equal to 0")
        }
    }

    // MARK: egressMTLS

    static func egressMTLSFindings(_ spec: EgressMTLSView, at path: FieldPath, scope: Scope = .all) -> [Finding] {
        var findings: [Finding] = []
        func add(_ rule: RuleID, _ field: String, _ message: String) {
            findings.append(Finding(rule: rule, severity: .deny, field: path.child(field), message: message))
        }
        func warn(_ rule: RuleID, _ field: String, _ message: String) {
            findings.append(Finding(rule: rule, severity: .warn, field: path.child(field), message: message))
        }
        func checkSecretName(_ value: FieldValue<String>, rule: RuleID, field: String) {
            switch value {
            case .absent: break
            case .wrongType(let raw): add(rule, field, FieldError.wrongType(raw, expected: "a string"))
            case .value(let name):
                if let problem = secretNameProblem(name) { add(rule, field, FieldError.invalid(name, problem)) }
            }
        }

        let trustedCertSecret = unsetIfEmpty(spec.trustedCertSecret)
        let sslName = unsetIfEmpty(spec.sslName)
        checkSecretName(unsetIfEmpty(spec.tlsSecret), rule: "egress-mtls/tls-secret", field: "tlsSecret")
        checkSecretName(trustedCertSecret, rule: "egress-mtls/trusted-cert-secret", field: "trustedCertSecret")
        if case .wrongType(let raw) = spec.verifyServer {
            add("egress-mtls/trusted-cert-secret", "verifyServer", FieldError.wrongType(raw, expected: "a boolean", hint: "write true or false without quotes"))
        }
        // `trustedCertSecret: ""` is unset too, so with verifyServer it is NIC's Required violation.
        if spec.verifyServer.value == true, !trustedCertSecret.isSet {
            add("egress-mtls/trusted-cert-secret", "trustedCertSecret",
                FieldError.required("verifyServer is true: name the nginx.org/ca Secret that verifies the upstream's certificate"))
        }

        if let finding = verifyDepthFinding(spec.verifyDepth, rule: "egress-mtls/verify-depth", at: path.child("verifyDepth")) {
            findings.append(finding)
        }

        switch sslName {
        case .absent:
            if spec.verifyServer.value == true {
                add("egress-mtls/ssl-name-missing", "sslName", FieldError.required(
                    "verifyServer is true but sslName is unset: NGINX then checks the upstream's certificate against $proxy_host, "
                    + "the upstream name NIC generates (such as vs_default_webapp_backend), which no certificate carries, so every request fails with 502; "
                    + "set sslName to the DNS name in the upstream's certificate"))
            }
        case .wrongType(let raw): add("egress-mtls/ssl-name", "sslName", FieldError.wrongType(raw, expected: "a string"))
        case .value(let name):
            if let problem = NameValidation.dns1123SubdomainProblem(name) {
                add("egress-mtls/ssl-name", "sslName",
                    FieldError.invalid(name, problem + " (no uppercase, '*', ':port', '$variable' or ';')"))
            }
        }
        if case .wrongType(let raw) = spec.serverName {
            add("egress-mtls/ssl-name", "serverName", FieldError.wrongType(raw, expected: "a boolean", hint: "write true or false without quotes"))
        }

        guard scope == .all else { return findings }  // the rest are beyond NIC, or warnings

        var effectiveProtocols = defaultProtocols
        switch unsetIfEmpty(spec.protocols) {
        case .absent: break
        case .wrongType(let raw): add("egress-mtls/protocols", "protocols", FieldError.wrongType(raw, expected: "a string"))
        case .value(let text):
            let tokens = text.split(whereSeparator: { $0 == " " }).map(String.init)
            var problems: [String] = []
            if tokens.isEmpty {
                problems.append(FieldError.invalid(text, "must list at least one protocol, separated by spaces, from " + knownProtocols.joined(separator: " ")))
            }
            for token in tokens where !knownProtocols.contains(token) {
                problems.append(FieldError.unsupported(token, supported: knownProtocols))
            }
            var seen = Set<String>()
            for token in tokens where !seen.insert(token).inserted {
                problems.append(FieldError.invalid(text, "duplicate protocol \(FieldError.quote(token))"))
            }
            problems.forEach { add("egress-mtls/protocols", "protocols", $0) }
            if problems.isEmpty { effectiveProtocols = tokens }
        }
        let weak = effectiveProtocols.filter { weakProtocols.contains($0) }
        if !weak.isEmpty {
            let origin = unsetIfEmpty(spec.protocols).isSet ? "" : " (NIC's default when protocols is unset is \"TLSv1 TLSv1.1 TLSv1.2\")"
            warn("egress-mtls/weak-protocols", "protocols",
                "\(weak.joined(separator: ", ")) enabled towards the upstream\(origin): set protocols: \"TLSv1.2 TLSv1.3\"")
        }

        // `ciphers: ""` is NIC's default, `DEFAULT`.
        switch unsetIfEmpty(spec.ciphers) {
        case .absent: break
        case .wrongType(let raw): add("egress-mtls/ciphers", "ciphers", FieldError.wrongType(raw, expected: "a string"))
        case .value(let text):
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!+:@_.=-")
            if let bad = text.first(where: { !allowed.contains($0) }) {
                add("egress-mtls/ciphers", "ciphers", FieldError.invalid(text, "character \(FieldError.quote(String(bad))) is not allowed in an OpenSSL cipher string (A-Z a-z 0-9 ! + : @ _ . = -)"))
            } else if !CipherList.selectsAnyCipher(text) {
                add("egress-mtls/ciphers", "ciphers", FieldError.invalid(text, "OpenSSL selects no cipher from this string: NGINX would fail to load the configuration; try \"HIGH:!aNULL:!MD5\""))
            }
        }

        if spec.verifyServer.value != true, !isWrongType(spec.verifyServer) {
            warn("egress-mtls/no-verification", "verifyServer",
                "verifyServer is \(spec.verifyServer.isSet ? "false" : "unset (false)"): the upstream's certificate is not verified; set verifyServer: true and trustedCertSecret")
        }
        if sslName.isSet, spec.verifyServer.value != true, spec.serverName.value != true {
            warn("egress-mtls/ssl-name-unused", "sslName",
                "sslName has no effect while verifyServer and serverName are both false: set verifyServer or serverName to true, or remove it")
        }
        return findings
    }

    private static func isWrongType<T>(_ field: FieldValue<T>) -> Bool {
        if case .wrongType = field { return true }
        return false
    }
}
