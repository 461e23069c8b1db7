import Foundation
import Certificates
import KubeModel

/// RULES.md §1: a Policy on its own (no state). Mirrors NIC's `validatePolicySpec`, plus the
/// checks marked "beyond NIC", accumulating every violation with its field path.
public enum PolicyRules {
    static let verifyClientValues = ["off", "on", "optional", "optional_no_ca"]
    static let knownProtocols = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    static let weakProtocols: Set<String> = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]
    /// NIC's `proxy_ssl_protocols` when the Policy does not set `protocols`.
    static let defaultProtocols = ["TLSv1", "TLSv1.1", "TLSv1.2"]

    /// Every §1 finding for `policy`.
    public static func findings(_ policy: PolicyView) -> [Finding] {
        var findings = oneTypeFindings(policy)
        let malformed = Set(policy.shapeProblems.map(\.path))
        if let ingress = policy.ingressMTLS, !malformed.contains("spec.ingressMTLS") {
            findings += ingressMTLSFindings(ingress, at: FieldPath("spec", "ingressMTLS"))
        }
        if let egress = policy.egressMTLS, !malformed.contains("spec.egressMTLS") {
            findings += egressMTLSFindings(egress, at: FieldPath("spec", "egressMTLS"))
        }
        return findings
    }

    /// `true` when NIC would accept the Policy: no deny finding of §1 (NIC's "invalid" Policy state).
    public static func isValid(_ policy: PolicyView) -> Bool {
        !findings(policy).contains { $0.severity == .deny }
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
        switch policy.setTypes.count {
        case 0:
            findings.append(deny(FieldPath("spec"), FieldError.required(
                "spec must set exactly one policy type (ingressMTLS, egressMTLS, accessControl, rateLimit, jwt, ...)")))
        case 1:
            break
        default:
            let types = policy.setTypes.joined(separator: ", ")
            let hint = Set(policy.setTypes).isSuperset(of: ["ingressMTLS", "egressMTLS"])
                ? "; put ingressMTLS and egressMTLS in separate Policies" : "; split it into one Policy per type"
            findings.append(deny(FieldPath("spec"), FieldError.invalid(types, "spec must set exactly one policy type" + hint)))
        }
        return findings
    }

    // MARK: ingressMTLS

    static func ingressMTLSFindings(_ spec: IngressMTLSView, at path: FieldPath) -> [Finding] {
        var findings: [Finding] = []
        func deny(_ rule: RuleID, _ field: String, _ message: String) {
            findings.append(Finding(rule: rule, severity: .deny, field: path.child(field), message: message))
        }

        switch spec.clientCertSecret {
        case .absent:
            deny("ingress-mtls/client-cert-secret", "clientCertSecret",
                 FieldError.required("name of the nginx.org/ca Secret with the client CA, in the Policy's namespace"))
        case .wrongType(let raw):
            deny("ingress-mtls/client-cert-secret", "clientCertSecret", FieldError.wrongType(raw, expected: "a string"))
        case .value(let name):
            if let problem = secretNameProblem(name) { deny("ingress-mtls/client-cert-secret", "clientCertSecret", FieldError.invalid(name, problem)) }
        }

        switch spec.verifyClient {
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
            }
        }

        if let finding = verifyDepthFinding(spec.verifyDepth, rule: "ingress-mtls/verify-depth", at: path.child("verifyDepth")) {
            findings.append(finding)
        }

        switch spec.crlFileName {
        case .absent:
            break
        case .wrongType(let raw):
            deny("ingress-mtls/crl-file-name", "crlFileName", FieldError.wrongType(raw, expected: "a string"))
        case .value(let name):
            if let problem = crlFileNameProblem(name) { deny("ingress-mtls/crl-file-name", "crlFileName", FieldError.invalid(name, problem)) }
        }
        return findings
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

    static func egressMTLSFindings(_ spec: EgressMTLSView, at path: FieldPath) -> [Finding] {
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

        checkSecretName(spec.tlsSecret, rule: "egress-mtls/tls-secret", field: "tlsSecret")
        checkSecretName(spec.trustedCertSecret, rule: "egress-mtls/trusted-cert-secret", field: "trustedCertSecret")
        if case .wrongType(let raw) = spec.verifyServer {
            add("egress-mtls/trusted-cert-secret", "verifyServer", FieldError.wrongType(raw, expected: "a boolean", hint: "write true or false without quotes"))
        }
        if spec.verifyServer.value == true, !spec.trustedCertSecret.isSet {
            add("egress-mtls/trusted-cert-secret", "trustedCertSecret",
                FieldError.required("verifyServer is true: name the nginx.org/ca Secret that verifies the upstream's certificate"))
        }

        if let finding = verifyDepthFinding(spec.verifyDepth, rule: "egress-mtls/verify-depth", at: path.child("verifyDepth")) {
            findings.append(finding)
        }

        switch spec.sslName {
        case .absent: break
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

        var effectiveProtocols = defaultProtocols
        switch spec.protocols {
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
            let origin = spec.protocols.isSet ? "" : " (NIC's default when protocols is unset is \"TLSv1 TLSv1.1 TLSv1.2\")"
            warn("egress-mtls/weak-protocols", "protocols",
                "\(weak.joined(separator: ", ")) enabled towards the upstream\(origin): set protocols: \"TLSv1.2 TLSv1.3\"")
        }

        switch spec.ciphers {
        case .absent: break
        case .wrongType(let raw): add("egress-mtls/ciphers", "ciphers", FieldError.wrongType(raw, expected: "a string"))
        case .value(let text):
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!+:@_.=-")
            if text.isEmpty {
                add("egress-mtls/ciphers", "ciphers", FieldError.invalid(text, "must be a non-empty OpenSSL cipher string such as \"HIGH:!aNULL:!MD5\""))
            } else if let bad = text.first(where: { !allowed.contains($0) }) {
                add("egress-mtls/ciphers", "ciphers", FieldError.invalid(text, "character \(FieldError.quote(String(bad))) is not allowed in an OpenSSL cipher string (A-Z a-z 0-9 ! + : @ _ . = -)"))
            } else if !CipherList.selectsAnyCipher(text) {
                add("egress-mtls/ciphers", "ciphers", FieldError.invalid(text, "OpenSSL selects no cipher from this string: NGINX would fail to load the configuration; try \"HIGH:!aNULL:!MD5\""))
            }
        }

        if spec.verifyServer.value != true, !isWrongType(spec.verifyServer) {
            warn("egress-mtls/no-verification", "verifyServer",
                "verifyServer is \(spec.verifyServer.isSet ? "false" : "unset (false)"): the upstream's certificate is not verified; set verifyServer: true and trustedCertSecret")
        }
        if spec.sslName.isSet, spec.verifyServer.value != true, spec.serverName.value != true {
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
