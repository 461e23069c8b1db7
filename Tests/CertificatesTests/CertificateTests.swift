import Certificates
import Foundation
import Testing

@Suite struct CertificateTests {
    @Test(arguments: [(KeyType.ecdsaP256, "EC P-256"), (.rsa2048, "RSA 2048")])
    func generatesSelfSignedCA(keyType: KeyType, algorithm: String) throws {
        let root = try TestPKI.root("client-ca", keyType: keyType)
        let certificate = root.certificate
        #expect(root.privateKey.algorithm == algorithm)
        #expect(certificate.subject == "CN=client-ca,O=Example")
        #expect(certificate.issuer == certificate.subject)
        #expect(certificate.commonName == "client-ca")
        #expect(certificate.isCA)
        #expect(certificate.isSelfSigned)
        #expect(certificate.serialNumberHex.count == 32)
        #expect(root.privateKey.matches(certificate))
        #expect(try Certificate(derEncoded: certificate.der) == certificate)
    }

    @Test func issuedCertificateIsNotSelfSigned() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(by: root)
        #expect(!leaf.certificate.isCA)
        #expect(leaf.certificate.pathLengthConstraint == nil)
        #expect(!leaf.certificate.isSelfSigned)
        #expect(leaf.certificate.issuer == root.certificate.subject)
    }

    @Test func sameNameDifferentKeyIsNotSelfSigned() throws {
        // Subject == issuer alone is not enough: the signature must verify with the certificate's own key.
        let root = try TestPKI.root("twin", pathLength: nil)
        let twin = try CertificateFactory.issue(CertificateRequest(commonName: "twin", organization: "Example", isCA: true), by: root)
        #expect(twin.certificate.subject == twin.certificate.issuer)
        #expect(!twin.certificate.isSelfSigned)
    }

    @Test(arguments: [nil, 0, 1, 5] as [Int?])
    func pathLengthConstraint(pathLength: Int?) throws {
        let root = try TestPKI.root(pathLength: pathLength)
        #expect(root.certificate.pathLengthConstraint == pathLength)
    }

    @Test func mismatchedKeyDoesNotMatch() throws {
        let first = try TestPKI.root("first")
        let second = try TestPKI.root("second")
        #expect(!first.privateKey.matches(second.certificate))
        #expect(!second.privateKey.matches(first.certificate))
        let rsa = try TestPKI.root("rsa", keyType: .rsa2048)
        #expect(!rsa.privateKey.matches(first.certificate))
    }

    @Test func extractsSubjectAlternativeNames() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(by: root, sans: ["api.example.com", "*.svc.example", "10.0.0.1", "::1", "URI:spiffe://cluster.local/ns/a/sa/b"])
        #expect(leaf.certificate.subjectAlternativeNames == [
            "DNS:api.example.com", "DNS:*.svc.example", "IP:10.0.0.1", "IP:::1", "URI:spiffe://cluster.local/ns/a/sa/b",
        ])
    }

    /// (notBefore, notAfter relative to now, valid now)
    @Test(arguments: [(-2 * 86400.0, -86400.0, false), (86400.0, 2 * 86400.0, false), (-60.0, 86400.0, true)])
    func validityDates(from start: TimeInterval, to end: TimeInterval, validNow: Bool) throws {
        let root = try TestPKI.root()
        let now = Date()
        let leaf = try TestPKI.leaf(by: root, notBefore: now.addingTimeInterval(start), notAfter: now.addingTimeInterval(end))
        #expect(abs(leaf.certificate.notBefore.timeIntervalSince(now.addingTimeInterval(start))) < 1.5)
        #expect(abs(leaf.certificate.notAfter.timeIntervalSince(now.addingTimeInterval(end))) < 1.5)
        #expect(leaf.certificate.isValid(at: now) == validNow)
    }

    @Test func rejectsInvalidRequests() throws {
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(by: root)
        let requests: [(CertificateRequest, IssuedCertificate?)] = [
            (CertificateRequest(commonName: "x", sans: ["a.example,IP:1.2.3.4"]), root),
            (CertificateRequest(commonName: "x", sans: [""]), root),
            (CertificateRequest(commonName: "x", pathLength: 1), root),
            (CertificateRequest(commonName: "x", isCA: true, pathLength: -1), root),
            (CertificateRequest(commonName: ""), root),
            (CertificateRequest(commonName: "x", notBefore: Date(), notAfter: Date(timeIntervalSinceNow: -10)), root),
            (CertificateRequest(commonName: "x"), leaf),
        ]
        for (request, issuer) in requests {
            let error = #expect(throws: CertificateError.self) {
                if let issuer { _ = try CertificateFactory.issue(request, by: issuer) }
            }
            #expect(error?.kind == .invalidRequest)
        }
    }

    @Test func garbageDERIsAnError() {
        let error = #expect(throws: CertificateError.self) { try Certificate(derEncoded: [0x30, 0x03, 0x02, 0x01, 0x01]) }
        #expect(error?.kind == .invalidCertificate)
        #expect(throws: CertificateError.self) { try Certificate(derEncoded: []) }
    }

    @Test func trailingBytesAfterDERAreAnError() throws {
        let root = try TestPKI.root()
        #expect(throws: CertificateError.self) { try Certificate(derEncoded: root.certificate.der + [0]) }
    }
}

@Suite struct CRLTests {
    @Test func generatedCRLParses() throws {
        let root = try TestPKI.root()
        let revoked = try TestPKI.leaf(by: root)
        let now = Date()
        let pem = try CertificateFactory.crl(
            issuer: root, revoked: [revoked.certificate.serialNumberHex, "0A:0B"], lastUpdate: now, nextUpdate: now.addingTimeInterval(86400))
        let crls = try PEMBundle.crls(from: Array(pem.utf8))
        #expect(crls.count == 1)
        let crl = try #require(crls.first)
        #expect(crl.issuer == root.certificate.subject)
        #expect(crl.revokedCount == 2)
        #expect(Set(crl.revokedSerialNumbersHex) == [revoked.certificate.serialNumberHex, "0A0B"])
        #expect(abs(crl.lastUpdate.timeIntervalSince(now)) < 1.5)
        #expect(abs((crl.nextUpdate ?? .distantPast).timeIntervalSince(now.addingTimeInterval(86400))) < 1.5)
        #expect(crl.isSigned(by: root.certificate))
        #expect(!crl.isSigned(by: revoked.certificate))
    }

    @Test(arguments: [
        ("-----BEGIN X509 CRL-----\nZm9vYmFy\n-----END X509 CRL-----\n", CertificateError.Kind.invalidCRL),
        ("-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n", .malformedBase64),
        ("not a crl at all\n", .strayText),
        ("", .emptyInput),
    ])
    func garbageCRLIsAnError(text: String, kind: CertificateError.Kind) {
        let error = #expect(throws: CertificateError.self) { try PEMBundle.crls(from: Array(text.utf8)) }
        #expect(error?.kind == kind)
    }

    @Test func certificateInCRLFileIsAnError() throws {
        let root = try TestPKI.root()
        let error = #expect(throws: CertificateError.self) { try PEMBundle.crls(from: Array(root.certificatePEM.utf8)) }
        #expect(error?.kind == .unexpectedBlockType)
        #expect(error?.blockIndex == 1)
    }

    @Test func invalidRevokedSerialIsAnError() throws {
        let root = try TestPKI.root()
        let error = #expect(throws: CertificateError.self) {
            try CertificateFactory.crl(issuer: root, revoked: ["xyz"], lastUpdate: Date(), nextUpdate: Date(timeIntervalSinceNow: 60))
        }
        #expect(error?.kind == .invalidRequest)
    }
}

@Suite struct CipherListTests {
    @Test(arguments: [
        ("HIGH:!aNULL", true), ("ECDHE-ECDSA-AES128-GCM-SHA256", true), ("DEFAULT", true),
        ("FOO-BAR", false), ("", false), ("!ALL", false), ("HIGH:!HIGH", false),
    ])
    func selectsAnyCipher(cipherString: String, expected: Bool) {
        #expect(CipherList.selectsAnyCipher(cipherString) == expected)
    }
}
