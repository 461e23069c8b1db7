import Certificates
import Foundation
import KubeModel
import Testing
@testable import Rules

/// Certificates generated once per test process, relative to a fixed `now`, for the section 3 and 7 tests.
struct SecretTestPKI: Sendable {
    static let now = Date(timeIntervalSince1970: 1_900_000_000)  // 2030-03-17
    static let day: TimeInterval = 86_400

    let root: IssuedCertificate
    let intermediate: IssuedCertificate
    let leaf: IssuedCertificate
    let otherLeaf: IssuedCertificate
    let rsaLeaf: IssuedCertificate
    let expired: IssuedCertificate
    let notYetValid: IssuedCertificate
    let expiringSoon: IssuedCertificate
    let crlPEM: String

    static func request(_ cn: String, ca: Bool = false, pathLength: Int? = nil, from: TimeInterval = -day,
                        to: TimeInterval = 365 * day, key: KeyType = .ecdsaP256) -> CertificateRequest {
        CertificateRequest(commonName: cn, isCA: ca, pathLength: pathLength,
                           notBefore: now.addingTimeInterval(from), notAfter: now.addingTimeInterval(to), keyType: key)
    }

    static func make() throws -> SecretTestPKI {
        let root = try CertificateFactory.selfSigned(request("Test Root CA", ca: true, to: 3650 * day))
        let intermediate = try CertificateFactory.issue(request("Test Intermediate CA", ca: true, pathLength: 0, to: 1800 * day), by: root)
        return SecretTestPKI(
            root: root,
            intermediate: intermediate,
            leaf: try CertificateFactory.issue(request("leaf.example.com"), by: intermediate),
            otherLeaf: try CertificateFactory.issue(request("other.example.com"), by: intermediate),
            rsaLeaf: try CertificateFactory.issue(request("rsa.example.com", key: .rsa2048), by: intermediate),
            expired: try CertificateFactory.issue(request("expired.example.com", from: -100 * day, to: -10 * day), by: intermediate),
            notYetValid: try CertificateFactory.issue(request("future.example.com", from: 5 * day, to: 300 * day), by: intermediate),
            expiringSoon: try CertificateFactory.issue(request("soon.example.com", to: 10 * day + 3600), by: intermediate),
            crlPEM: try CertificateFactory.crl(issuer: root, revoked: ["0A1B"], lastUpdate: now.addingTimeInterval(-day),
                                               nextUpdate: now.addingTimeInterval(30 * day)))
    }

    /// Shared: generating keys is the slow part of these tests.
    static let shared: Result<SecretTestPKI, any Error> = Result { try make() }

    static func get() throws -> SecretTestPKI { try shared.get() }
}

private let settings = Settings(now: SecretTestPKI.now)

private func secret(type: String, data: [String: String], raw: JSONObject = [:]) throws -> SecretView {
    var encoded: JSONObject = raw
    for (key, value) in data { encoded[key] = .string(Data(value.utf8).base64EncodedString()) }
    let object = try #require(KubeObject(.object([
        "apiVersion": .string("v1"), "kind": .string("Secret"),
        "metadata": .object(["name": .string("s"), "namespace": .string("default")]),
        "type": .string(type), "data": .object(encoded),
    ])))
    return SecretView(object)
}

private func pairs(_ findings: [Finding]) -> Set<String> {
    Set(findings.map { "\($0.rule) \($0.field)" })
}

/// A certificate's PEM body with its DER garbled after the header, so that base64 decodes but X.509 does not.
private func corruptCertificatePEM() -> String {
    let der = [UInt8](repeating: 0x30, count: 8) + [UInt8](repeating: 0x42, count: 40)
    return "-----BEGIN CERTIFICATE-----\n\(Data(der).base64EncodedString())\n-----END CERTIFICATE-----\n"
}

struct SecretRulesTests {
    // MARK: nginx.org/ca

    struct CACase: Sendable, CustomStringConvertible {
        let name: String
        let data: @Sendable (SecretTestPKI) -> [String: String]
        let expected: Set<String>
        var messageContains: String? = nil
        var description: String { name }
    }

    static let caCases: [CACase] = [
        CACase(name: "root and intermediate", data: { ["ca.crt": $0.intermediate.certificatePEM + $0.root.certificatePEM] },
               expected: []),
        CACase(name: "with a good CRL", data: { ["ca.crt": $0.root.certificatePEM, "ca.crl": $0.crlPEM] }, expected: []),
        CACase(name: "ca.crt missing", data: { _ in ["ca.crl": ""] },
               expected: ["secret/ca data[ca.crt]", "secret/ca-crl data[ca.crl]"]),
        CACase(name: "ca.crt empty", data: { _ in ["ca.crt": "  \n"] }, expected: ["secret/ca data[ca.crt]"], messageContains: "empty"),
        // Text outside blocks is ignored, as NIC's pem.Decode and OpenSSL's PEM reader ignore it.
        CACase(name: "comment between blocks",
               data: { ["ca.crt": $0.intermediate.certificatePEM + "# the root:\n" + $0.root.certificatePEM] }, expected: []),
        CACase(name: "comments before and after the blocks",
               data: { ["ca.crt": "# Issuer: Test Root CA\nSubject: x\n" + $0.root.certificatePEM + "trailing words\n"] }, expected: []),
        CACase(name: "a stray END line is text too",
               data: { ["ca.crt": $0.root.certificatePEM + "-----END CERTIFICATE-----\n"] }, expected: []),
        CACase(name: "a block cut off before the next one",
               data: { ["ca.crt": String($0.intermediate.certificatePEM.split(separator: "\n").dropLast().joined(separator: "\n")) + "\n" + $0.root.certificatePEM] },
               expected: ["secret/ca data[ca.crt]"], messageContains: "no matching END"),
        CACase(name: "bad base64 inside a block",
               data: { _ in ["ca.crt": "# comment\n-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n"] },
               expected: ["secret/ca data[ca.crt]"], messageContains: "base64"),
        CACase(name: "only comments", data: { _ in ["ca.crt": "# nothing here\n"] },
               expected: ["secret/ca data[ca.crt]"], messageContains: "no PEM certificate block"),
        CACase(name: "a private key in the bundle", data: { ["ca.crt": $0.root.certificatePEM + $0.root.privateKeyPEM] },
               expected: ["secret/ca data[ca.crt]"], messageContains: "PEM block 2 (PRIVATE KEY)"),
        CACase(name: "a block that is not X.509 (NIC checks only the first)",
               data: { ["ca.crt": $0.root.certificatePEM + corruptCertificatePEM()] },
               expected: ["secret/ca data[ca.crt]"], messageContains: "PEM block 2"),
        CACase(name: "truncated block", data: { ["ca.crt": String($0.root.certificatePEM.dropLast(30))] },
               expected: ["secret/ca data[ca.crt]"]),
        CACase(name: "not PEM at all", data: { _ in ["ca.crt": "just text"] }, expected: ["secret/ca data[ca.crt]"]),
        CACase(name: "leaf in ca.crt", data: { ["ca.crt": $0.root.certificatePEM + $0.leaf.certificatePEM] },
               expected: ["secret/ca-not-ca data[ca.crt]"], messageContains: "certificate 2 (CN=leaf.example.com)"),
        CACase(name: "bad CRL", data: { ["ca.crt": $0.root.certificatePEM, "ca.crl": "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"] },
               expected: ["secret/ca-crl data[ca.crl]"], messageContains: "PEM block 1"),
        CACase(name: "certificate given as CRL", data: { ["ca.crt": $0.root.certificatePEM, "ca.crl": $0.root.certificatePEM] },
               expected: ["secret/ca-crl data[ca.crl]"], messageContains: "X509 CRL"),
        CACase(name: "expired CA", data: { ["ca.crt": $0.expired.certificatePEM] },
               expected: ["secret/ca-not-ca data[ca.crt]", "secret/expiry data[ca.crt]"]),
    ]

    @Test("nginx.org/ca content", arguments: caCases)
    func caContent(_ c: CACase) throws {
        let pki = try SecretTestPKI.get()
        let findings = SecretRules.contentFindings(try secret(type: SecretView.caType, data: c.data(pki)), settings: settings)
        #expect(pairs(findings) == c.expected, "\(findings)")
        if let text = c.messageContains {
            #expect(findings.contains { $0.message.contains(text) }, "\(findings)")
        }
        let deny: Set<RuleID> = ["secret/ca", "secret/ca-crl"]
        #expect(findings.allSatisfy { $0.severity == (deny.contains($0.rule) ? .deny : .warn) })
    }

    @Test func everyBadBlockIsReported() throws {
        let pki = try SecretTestPKI.get()
        let pem = corruptCertificatePEM() + pki.root.certificatePEM + "junk\n" + corruptCertificatePEM()
        let findings = SecretRules.contentFindings(try secret(type: SecretView.caType, data: ["ca.crt": pem]), settings: settings)
        // Two corrupt blocks; "junk" outside the blocks is ignored.
        #expect(findings.filter { $0.rule == "secret/ca" }.count == 2)
        #expect(findings.contains { $0.message.contains("PEM block 1") })
        #expect(findings.contains { $0.message.contains("PEM block 3") })
    }

    @Test("invalid base64 is reported at its key", arguments: [
        ("ca.crt", "secret/ca"), ("ca.crl", "secret/ca-crl"), ("extra", "secret/ca"),
    ])
    func caUndecodable(key: String, rule: String) throws {
        let pki = try SecretTestPKI.get()
        var data: JSONObject = [key: .string("abc")]
        if key != "ca.crt" { data["ca.crt"] = .string(Data(pki.root.certificatePEM.utf8).base64EncodedString()) }
        let view = try secret(type: SecretView.caType, data: [:], raw: data)
        let findings = SecretRules.contentFindings(view, settings: settings)
        #expect(pairs(findings) == ["\(rule) data[\(key)]"])
        #expect(findings.first?.message.contains("base64") == true)
    }

    @Test("base64 is decoded as strictly as the API server does", arguments: [
        ("****", false), ("ab!c", false), ("YWJj", true), ("YW\nJj", true), ("YWJ", false),
    ])
    func base64Strictness(value: String, decodes: Bool) throws {
        let view = try secret(type: SecretView.caType, data: [:], raw: ["ca.crt": .string(value)])
        #expect(view.undecodableKeys == (decodes ? [] : ["ca.crt"]))
        #expect((view.data["ca.crt"] != nil) == decodes)
        // Either way ca.crt is unusable here: the finding is at its key.
        #expect(pairs(SecretRules.contentFindings(view, settings: settings)) == ["secret/ca data[ca.crt]"])
    }

    // MARK: kubernetes.io/tls

    struct TLSCase: Sendable, CustomStringConvertible {
        let name: String
        let data: @Sendable (SecretTestPKI) -> [String: String]
        let expected: Set<String>
        var messageContains: String? = nil
        var description: String { name }
    }

    static let tlsCases: [TLSCase] = [
        TLSCase(name: "leaf and chain with matching key",
                data: { ["tls.crt": $0.leaf.certificatePEM + $0.intermediate.certificatePEM, "tls.key": $0.leaf.privateKeyPEM] },
                expected: []),
        TLSCase(name: "RSA pair", data: { ["tls.crt": $0.rsaLeaf.certificatePEM, "tls.key": $0.rsaLeaf.privateKeyPEM] }, expected: []),
        TLSCase(name: "key and text in tls.crt are skipped as NGINX does",
                data: { ["tls.crt": "subject=leaf\n" + $0.leaf.certificatePEM + $0.leaf.privateKeyPEM, "tls.key": $0.leaf.privateKeyPEM] },
                expected: []),
        TLSCase(name: "mismatched key", data: { ["tls.crt": $0.leaf.certificatePEM, "tls.key": $0.otherLeaf.privateKeyPEM] },
                expected: ["secret/tls data[tls.key]"], messageContains: "does not match"),
        TLSCase(name: "RSA key for an EC certificate", data: { ["tls.crt": $0.leaf.certificatePEM, "tls.key": $0.rsaLeaf.privateKeyPEM] },
                expected: ["secret/tls data[tls.key]"], messageContains: "does not match"),
        TLSCase(name: "chain before leaf: the key matches a later certificate only",
                data: { ["tls.crt": $0.intermediate.certificatePEM + $0.leaf.certificatePEM, "tls.key": $0.leaf.privateKeyPEM] },
                expected: ["secret/tls data[tls.key]"]),
        TLSCase(name: "tls.key missing", data: { ["tls.crt": $0.leaf.certificatePEM] }, expected: ["secret/tls data[tls.key]"]),
        TLSCase(name: "tls.crt missing", data: { ["tls.key": $0.leaf.privateKeyPEM] }, expected: ["secret/tls data[tls.crt]"]),
        TLSCase(name: "both missing", data: { _ in [:] }, expected: ["secret/tls data[tls.crt]", "secret/tls data[tls.key]"]),
        TLSCase(name: "key is garbage", data: { ["tls.crt": $0.leaf.certificatePEM, "tls.key": "not a key"] },
                expected: ["secret/tls data[tls.key]"]),
        TLSCase(name: "a certificate given as key", data: { ["tls.crt": $0.leaf.certificatePEM, "tls.key": $0.leaf.certificatePEM] },
                expected: ["secret/tls data[tls.key]"]),
        TLSCase(name: "crt is not X.509", data: { ["tls.crt": corruptCertificatePEM(), "tls.key": $0.leaf.privateKeyPEM] },
                expected: ["secret/tls data[tls.crt]"], messageContains: "PEM block 1"),
        TLSCase(name: "crt has no certificate", data: { ["tls.crt": $0.leaf.privateKeyPEM, "tls.key": $0.leaf.privateKeyPEM] },
                expected: ["secret/tls data[tls.crt]"]),
        TLSCase(name: "expired leaf", data: { ["tls.crt": $0.expired.certificatePEM, "tls.key": $0.expired.privateKeyPEM] },
                expected: ["secret/expiry data[tls.crt]"], messageContains: "expired on 2030-03-07T"),
        TLSCase(name: "not yet valid leaf", data: { ["tls.crt": $0.notYetValid.certificatePEM, "tls.key": $0.notYetValid.privateKeyPEM] },
                expected: ["secret/expiry data[tls.crt]"], messageContains: "not yet valid: its validity starts on 2030-03-22T"),
        TLSCase(name: "leaf expiring soon", data: { ["tls.crt": $0.expiringSoon.certificatePEM, "tls.key": $0.expiringSoon.privateKeyPEM] },
                expected: ["secret/expiry data[tls.crt]"], messageContains: "in 10 days"),
    ]

    @Test("kubernetes.io/tls content", arguments: tlsCases)
    func tlsContent(_ c: TLSCase) throws {
        let pki = try SecretTestPKI.get()
        let findings = SecretRules.contentFindings(try secret(type: SecretView.tlsType, data: c.data(pki)), settings: settings)
        #expect(pairs(findings) == c.expected, "\(findings)")
        if let text = c.messageContains {
            #expect(findings.contains { $0.message.contains(text) }, "\(findings)")
        }
        #expect(findings.allSatisfy { $0.severity == ($0.rule == "secret/tls" ? .deny : .warn) })
    }

    @Test func tlsUndecodable() throws {
        let pki = try SecretTestPKI.get()
        let view = try secret(type: SecretView.tlsType, data: ["tls.crt": pki.leaf.certificatePEM], raw: ["tls.key": .string("abc")])
        #expect(pairs(SecretRules.contentFindings(view, settings: settings)) == ["secret/tls data[tls.key]"])
    }

    @Test func stringDataIsRead() throws {
        let pki = try SecretTestPKI.get()
        let object = try #require(KubeObject(.object([
            "apiVersion": .string("v1"), "kind": .string("Secret"), "type": .string(SecretView.tlsType),
            "stringData": .object(["tls.crt": .string(pki.leaf.certificatePEM), "tls.key": .string(pki.otherLeaf.privateKeyPEM)]),
        ])))
        #expect(pairs(SecretRules.contentFindings(SecretView(object), settings: settings)) == ["secret/tls data[tls.key]"])
    }

    @Test func rootIsConfigurable() throws {
        let view = try secret(type: SecretView.caType, data: [:])
        let findings = SecretRules.contentFindings(view, root: FieldPath("oldObject", "data"), settings: settings)
        #expect(pairs(findings) == ["secret/ca oldObject.data[ca.crt]"])
    }

    // MARK: expiry

    @Test("expiry window is configurable", arguments: [(5.0, false), (10.0, false), (11.0, true), (30.0, true)])
    func expiryWindow(days: Double, fires: Bool) throws {
        let pki = try SecretTestPKI.get()
        let view = try secret(type: SecretView.caType, data: ["ca.crt": pki.root.certificatePEM + pki.expiringSoon.certificatePEM])
        let custom = Settings(expiryWarningWindow: days * SecretTestPKI.day, now: SecretTestPKI.now)
        let expiry = SecretRules.contentFindings(view, settings: custom).filter { $0.rule == "secret/expiry" }
        #expect(expiry.count == (fires ? 1 : 0))
        if fires {
            #expect(expiry.first?.message.contains("certificate 2 (CN=soon.example.com) expires on 2030-03-27T") == true)
        }
    }

    @Test func validCertificatesAreQuietAboutExpiry() throws {
        let pki = try SecretTestPKI.get()
        let view = try secret(type: SecretView.tlsType, data: ["tls.crt": pki.leaf.certificatePEM, "tls.key": pki.leaf.privateKeyPEM])
        #expect(SecretRules.contentFindings(view, settings: settings).isEmpty)
        #expect(SecretRules.isValid(view, settings: settings))
    }

    // MARK: scope and secrecy

    @Test("other Secret types have no content findings", arguments: ["Opaque", "kubernetes.io/dockerconfigjson", "nginx.org/jwk"])
    func otherTypes(type: String) throws {
        let view = try secret(type: type, data: ["ca.crt": "garbage", "tls.key": "garbage"])
        #expect(SecretRules.contentFindings(view, settings: settings).isEmpty)
    }

    @Test func messagesNeverContainKeyMaterial() throws {
        let pki = try SecretTestPKI.get()
        let keyBody = pki.leaf.privateKeyPEM.split(separator: "\n").dropFirst().prefix(2).joined()
        let certBody = pki.leaf.certificatePEM.split(separator: "\n").dropFirst().prefix(1).joined()
        let views = [
            try secret(type: SecretView.tlsType, data: ["tls.crt": pki.leaf.privateKeyPEM, "tls.key": pki.leaf.certificatePEM]),
            try secret(type: SecretView.caType, data: ["ca.crt": pki.leaf.privateKeyPEM + "x\n" + pki.leaf.certificatePEM]),
            try secret(type: SecretView.tlsType, data: ["tls.crt": pki.leaf.certificatePEM,
                                                         "tls.key": String(pki.leaf.privateKeyPEM.dropLast(40)) + "\n-----END PRIVATE KEY-----\n"]),
        ]
        for view in views {
            let findings = SecretRules.contentFindings(view, settings: settings)
            #expect(!findings.isEmpty)
            for finding in findings {
                #expect(!finding.message.contains(keyBody) && !finding.message.contains(certBody))
                #expect(!finding.message.contains("\n"))
            }
        }
    }
}
