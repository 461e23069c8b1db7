import Certificates
import Foundation
import KubeModel

/// Section 3 of docs/rules.md: content of `nginx.org/ca` and `kubernetes.io/tls` Secrets.
///
/// Decisions:
/// - `ca.crt`: every PEM block must be a `CERTIFICATE` that parses (NIC checks only the first; NGINX loads
///   them all), and every problem is reported, not only the first. Text outside blocks (comments before,
///   between or after them) is ignored, as NIC's `pem.Decode` and OpenSSL's PEM reader ignore it; a block
///   cut off (BEGIN without END) or with undecodable base64 is a violation.
/// - `tls.crt` is read as NGINX and NIC read it: text outside blocks and blocks of other types are skipped
///   (NIC writes the key into the same file); a `CERTIFICATE` block that does not parse, broken PEM
///   framing, or no certificate at all is a violation.
/// - A `data` value that is not valid base64 is reported at its key: `ca.crl` under `secret/ca-crl`, any
///   other key of a CA Secret under `secret/ca`, any key of a TLS Secret under `secret/tls` (the API server
///   would reject the whole Secret).
/// - `secret/expiry` looks at every certificate of `ca.crt` and `tls.crt`.
public enum SecretRules {
    static let ca: RuleID = "secret/ca"
    static let caCRL: RuleID = "secret/ca-crl"
    static let caNotCA: RuleID = "secret/ca-not-ca"
    static let tls: RuleID = "secret/tls"
    static let expiry: RuleID = "secret/expiry"

    /// Content findings for a Secret (secret/ca, secret/ca-crl, secret/ca-not-ca, secret/tls, secret/expiry),
    /// with field paths rooted at `root` (`data` for the Secret itself). Secrets of other types have none.
    public static func contentFindings(_ secret: SecretView, root: FieldPath = FieldPath("data"), settings: Settings) -> [Finding] {
        switch secret.type {
        case SecretView.caType: return caFindings(secret, root: root, settings: settings)
        case SecretView.tlsType: return tlsFindings(secret, root: root, settings: settings)
        default: return []
        }
    }

    /// Whether the content is acceptable to NIC: no deny-severity content finding. For the "is valid per
    /// secret/ca / secret/tls" checks of other rules.
    public static func isValid(_ secret: SecretView, settings: Settings) -> Bool {
        !contentFindings(secret, settings: settings).contains { $0.severity == .deny }
    }

    // MARK: nginx.org/ca

    private static func caFindings(_ secret: SecretView, root: FieldPath, settings: Settings) -> [Finding] {
        var findings: [Finding] = []
        for key in secret.undecodableKeys {
            findings.append(Finding(
                rule: key == "ca.crl" ? caCRL : ca, severity: .deny, field: root.key(key),
                message: "Invalid value: not valid base64; data values must be base64-encoded"))
        }

        let crtPath = root.key("ca.crt")
        if let bytes = secret.data["ca.crt"] {
            let bundle = readCertificateBundle(bytes, ignoringTextOutsideBlocks: true)
            for problem in bundle.problems {
                findings.append(Finding(rule: ca, severity: .deny, field: crtPath, message: "Invalid value: \(problem)"))
            }
            for (index, certificate) in bundle.certificates where !certificate.isCA {
                findings.append(Finding(
                    rule: caNotCA, severity: .warn, field: crtPath,
                    message: "certificate \(index) (\(certificate.subject)) lacks basicConstraints CA:TRUE: OpenSSL will not verify client certificates with it"))
            }
            findings += expiryFindings(bundle.certificates, rule: expiry, field: crtPath, settings: settings)
        } else if !secret.undecodableKeys.contains("ca.crt") {
            findings.append(Finding(
                rule: ca, severity: .deny, field: crtPath,
                message: "Required value: an nginx.org/ca Secret must hold the CA certificate bundle (PEM) under ca.crt; NIC serves 500 for hosts that use it"))
        }

        if let bytes = secret.data["ca.crl"] {
            do {
                _ = try PEMBundle.crls(from: bytes)
            } catch {
                findings.append(Finding(rule: caCRL, severity: .deny, field: root.key("ca.crl"),
                                        message: "Invalid value: not a PEM X.509 CRL: \(error)"))
            }
        }
        return findings
    }

    // MARK: kubernetes.io/tls

    private static func tlsFindings(_ secret: SecretView, root: FieldPath, settings: Settings) -> [Finding] {
        var findings: [Finding] = []
        for key in secret.undecodableKeys {
            findings.append(Finding(rule: tls, severity: .deny, field: root.key(key),
                                    message: "Invalid value: not valid base64; data values must be base64-encoded"))
        }

        let crtPath = root.key("tls.crt")
        let keyPath = root.key("tls.key")
        var leaf: Certificate?
        if let bytes = secret.data["tls.crt"] {
            let chain = readServingChain(bytes)
            for problem in chain.problems {
                findings.append(Finding(rule: tls, severity: .deny, field: crtPath, message: "Invalid value: \(problem)"))
            }
            leaf = chain.certificates.first?.certificate
            findings += expiryFindings(chain.certificates, rule: expiry, field: crtPath, settings: settings)
        } else if !secret.undecodableKeys.contains("tls.crt") {
            findings.append(Finding(rule: tls, severity: .deny, field: crtPath,
                                    message: "Required value: a kubernetes.io/tls Secret must hold the certificate (PEM) under tls.crt"))
        }

        if let bytes = secret.data["tls.key"] {
            do {
                let key = try PEMBundle.privateKey(from: bytes)
                if let leaf, !key.matches(leaf) {
                    findings.append(Finding(
                        rule: tls, severity: .deny, field: keyPath,
                        message: "Invalid value: the private key does not match the public key of the first certificate in tls.crt (\(leaf.subject)); NGINX fails to load the pair"))
                }
            } catch {
                // CertificateError never carries key bytes: its reason is ours or OpenSSL's.
                findings.append(Finding(rule: tls, severity: .deny, field: keyPath,
                                        message: "Invalid value: not a usable private key: \(error)"))
            }
        } else if !secret.undecodableKeys.contains("tls.key") {
            findings.append(Finding(rule: tls, severity: .deny, field: keyPath,
                                    message: "Required value: a kubernetes.io/tls Secret must hold the private key (PEM) under tls.key"))
        }
        return findings
    }

    // MARK: shared with the upstream CA rules (section 7)

    /// Certificates with their 1-based block index, and every problem found, in input order.
    struct ReadBundle {
        /// The most problems listed one by one; the rest are counted in one more.
        static let maximumProblems = 20

        var certificates: [(index: Int, certificate: Certificate)] = []
        private var listed: [String] = []
        private var unlisted = 0

        /// Every problem, in input order, the ones past `maximumProblems` counted in a last line.
        var problems: [String] {
            unlisted == 0 ? listed : listed + ["\(unlisted) more problems in this bundle not listed"]
        }

        mutating func addProblem(_ problem: @autoclosure () -> String) {
            if listed.count < Self.maximumProblems { listed.append(problem()) } else { unlisted += 1 }
        }
    }

    /// Reads a CA bundle: every block a parseable `CERTIFICATE`; text outside blocks is a problem unless
    /// `ignoringTextOutsideBlocks` (as NGINX and NIC read an `nginx.org/ca` Secret).
    static func readCertificateBundle(_ bytes: [UInt8], ignoringTextOutsideBlocks: Bool = false) -> ReadBundle {
        let scan = PEMBundle.blocks(in: bytes)
        var result = ReadBundle()
        if scan.isEmpty {
            result.addProblem("empty: no PEM certificate block")
            return result
        }
        let errors = ignoringTextOutsideBlocks ? scan.errors.filter { $0.kind != .strayText } : scan.errors
        for error in errors { result.addProblem("\(error)") }
        if scan.blocks.isEmpty && errors.isEmpty {
            result.addProblem("no PEM certificate block found")
        }
        for block in scan.blocks {
            if ReviewCancellation.isCurrentCancelled { break }
            guard block.label == "CERTIFICATE" else {
                result.addProblem("\(block): expected a CERTIFICATE block")
                continue
            }
            if block.hasHeaders {
                result.addProblem("\(block): a CERTIFICATE block must not carry PEM headers")
                continue
            }
            // Undecodable bodies are already among the scan errors.
            guard let der = block.der else { continue }
            do {
                result.certificates.append((block.index, try CertificateCache.shared.certificate(derEncoded: der)))
            } catch {
                result.addProblem("\(block): \(error.reason)")
            }
        }
        return result
    }

    /// Reads a serving certificate chain the way NGINX does: only `CERTIFICATE` blocks count; text and other
    /// blocks around them are skipped, but broken framing and unparseable certificates are problems.
    static func readServingChain(_ bytes: [UInt8]) -> ReadBundle {
        let scan = PEMBundle.blocks(in: bytes)
        var result = ReadBundle()
        for error in scan.errors where error.kind != .strayText { result.addProblem("\(error)") }
        for block in scan.blocks where block.label == "CERTIFICATE" {
            if ReviewCancellation.isCurrentCancelled { break }
            guard let der = block.der else { continue }
            do {
                result.certificates.append((block.index, try CertificateCache.shared.certificate(derEncoded: der)))
            } catch {
                result.addProblem("\(block): \(error.reason)")
            }
        }
        if result.certificates.isEmpty && result.problems.isEmpty {
            result.addProblem(scan.isEmpty ? "empty: no PEM certificate block" : "no PEM CERTIFICATE block found")
        }
        return result
    }

    /// `secret/expiry`-style findings: expired, not yet valid, or expiring within `settings.expiryWarningWindow`.
    static func expiryFindings(
        _ certificates: [(index: Int, certificate: Certificate)], rule: RuleID, field: FieldPath, settings: Settings
    ) -> [Finding] {
        let now = settings.now
        var findings: [Finding] = []
        for (index, certificate) in certificates {
            let what = "certificate \(index) (\(certificate.subject))"
            let message: String
            if certificate.notAfter < now {
                message = "\(what) expired on \(iso8601(certificate.notAfter))"
            } else if certificate.notBefore > now {
                message = "\(what) is not yet valid: its validity starts on \(iso8601(certificate.notBefore))"
            } else if certificate.notAfter.timeIntervalSince(now) <= settings.expiryWarningWindow {
                let days = Int((certificate.notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
                let when = days == 0 ? "in less than a day" : "in \(days) day\(days == 1 ? "" : "s")"
                message = "\(what) expires on \(iso8601(certificate.notAfter)), \(when)"
            } else {
                continue
            }
            findings.append(Finding(rule: rule, severity: .warn, field: field, message: message))
        }
        return findings
    }

    /// `2026-01-31T12:00:00Z`
    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
