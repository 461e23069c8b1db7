import Certificates
import Foundation
import TestSupport
import Testing

/// The `openssl` command line tool must agree with what this module generates and concludes.
@Suite struct OpenSSLAgreementTests {
    @Test(arguments: KeyType.allCases)
    func opensslVerifiesGeneratedChain(keyType: KeyType) throws {
        let scratch = try TemporaryDirectory()
        let chain = try TestPKI.caChain(intermediates: 1, keyType: keyType)
        let leaf = try TestPKI.leaf(by: chain[1], sans: ["client.example"], keyType: keyType)
        let root = try scratch.write("root.pem", chain[0].certificatePEM)
        let untrusted = try scratch.write("inter.pem", chain[1].certificatePEM)
        let leafPath = try scratch.write("leaf.pem", leaf.certificatePEM)
        let run = try OpenSSLCLI.run(["verify", "-x509_strict", "-CAfile", root, "-untrusted", untrusted, leafPath])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("leaf.pem: OK"))
        let ours = ChainAnalysis.verify(leaf.certificate, trustAnchors: [chain[0].certificate], untrusted: [chain[1].certificate], at: nil, maxDepth: nil)
        #expect((try? ours.get())?.count == 3)
    }

    @Test(arguments: [0, 1, 2])
    func verifyDepthAgreesWithOpenSSL(depth: Int) throws {
        let scratch = try TemporaryDirectory()
        let chain = try TestPKI.caChain(intermediates: 1)
        let leaf = try TestPKI.leaf(by: chain[1])
        let root = try scratch.write("root.pem", chain[0].certificatePEM)
        let untrusted = try scratch.write("inter.pem", chain[1].certificatePEM)
        let leafPath = try scratch.write("leaf.pem", leaf.certificatePEM)
        let run = try OpenSSLCLI.run(["verify", "-verify_depth", "\(depth)", "-CAfile", root, "-untrusted", untrusted, leafPath])
        let ours = ChainAnalysis.verify(leaf.certificate, trustAnchors: [chain[0].certificate], untrusted: [chain[1].certificate], at: nil, maxDepth: depth)
        let oursPassed = (try? ours.get()) != nil
        #expect(oursPassed == (run.status == 0), "openssl: \(run.output)")
        #expect(oursPassed == (depth >= 1))
    }

    @Test(arguments: [nil, 0, 1, 3] as [Int?])
    func basicConstraintsAgreeWithOpenSSL(pathLength: Int?) throws {
        let scratch = try TemporaryDirectory()
        let root = try TestPKI.root(pathLength: pathLength)
        let path = try scratch.write("ca.pem", root.certificatePEM)
        let run = try OpenSSLCLI.run(["x509", "-noout", "-ext", "basicConstraints", "-in", path])
        #expect(run.status == 0)
        #expect(run.output.contains("critical"))
        #expect(run.output.contains("CA:TRUE"))
        if let pathLength {
            #expect(run.output.contains("pathlen:\(pathLength)"))
        } else {
            #expect(!run.output.contains("pathlen"))
        }
        #expect(root.certificate.pathLengthConstraint == pathLength)
    }

    @Test func namesSerialAndDatesAgreeWithOpenSSL() throws {
        let scratch = try TemporaryDirectory()
        let root = try TestPKI.root("client-ca, \"quoted\"")
        let path = try scratch.write("ca.pem", root.certificatePEM)
        let run = try OpenSSLCLI.run(["x509", "-noout", "-subject", "-issuer", "-serial", "-nameopt", "RFC2253", "-in", path])
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.contains("subject=\(root.certificate.subject)"))
        #expect(lines.contains("issuer=\(root.certificate.issuer)"))
        #expect(lines.contains("serial=\(root.certificate.serialNumberHex)"))
        #expect(root.certificate.commonName == "client-ca, \"quoted\"")
    }

    @Test func extensionsArePresent() throws {
        let scratch = try TemporaryDirectory()
        let root = try TestPKI.root(keyType: .rsa2048)
        let leaf = try TestPKI.leaf(by: root, sans: ["a.example", "192.0.2.1"], keyType: .rsa2048)
        let path = try scratch.write("leaf.pem", leaf.certificatePEM)
        let run = try OpenSSLCLI.run(["x509", "-noout", "-text", "-in", path])
        for expected in [
            "Subject Key Identifier", "Authority Key Identifier", "Digital Signature, Key Encipherment",
            "TLS Web Server Authentication, TLS Web Client Authentication", "DNS:a.example, IP Address:192.0.2.1",
            "sha256WithRSAEncryption", "Version: 3 (0x2)",
        ] {
            #expect(run.output.contains(expected), "missing \(expected)")
        }
    }

    @Test func revokedLeafFailsCRLCheck() throws {
        let scratch = try TemporaryDirectory()
        let root = try TestPKI.root()
        let leaf = try TestPKI.leaf(by: root)
        let crl = try CertificateFactory.crl(
            issuer: root, revoked: [leaf.certificate.serialNumberHex], lastUpdate: Date(timeIntervalSinceNow: -60), nextUpdate: Date(timeIntervalSinceNow: 3600))
        let rootPath = try scratch.write("root.pem", root.certificatePEM)
        let crlPath = try scratch.write("crl.pem", crl)
        let leafPath = try scratch.write("leaf.pem", leaf.certificatePEM)
        let parsed = try OpenSSLCLI.run(["crl", "-noout", "-in", crlPath])
        #expect(parsed.status == 0, "\(parsed.output)")
        let run = try OpenSSLCLI.run(["verify", "-crl_check", "-CAfile", rootPath, "-CRLfile", crlPath, leafPath])
        #expect(run.status != 0)
        #expect(run.output.contains("certificate revoked"))
    }

    /// Keys in the traditional formats (`RSA PRIVATE KEY`, `EC PRIVATE KEY`) that older tooling writes.
    @Test(arguments: KeyType.allCases)
    func traditionalKeyFormatsParse(keyType: KeyType) throws {
        let scratch = try TemporaryDirectory()
        let root = try TestPKI.root(keyType: keyType)
        let path = try scratch.write("key.pem", root.privateKeyPEM)
        let run = try OpenSSLCLI.run(["pkey", "-traditional", "-in", path])
        #expect(run.status == 0)
        #expect(run.output.contains(keyType == .rsa2048 ? "BEGIN RSA PRIVATE KEY" : "BEGIN EC PRIVATE KEY"))
        let key = try PEMBundle.privateKey(from: Array(run.output.utf8))
        #expect(key.matches(root.certificate))
        #expect(key.algorithm == root.privateKey.algorithm)
    }
}

@Suite struct ServingCertificateSetTests {
    @Test func writesAVerifiableSetWithPrivateKeys() throws {
        let scratch = try TemporaryDirectory()
        let directory = scratch.url.appendingPathComponent("certs")
        let sans = ["webhook", "webhook.ns", "webhook.ns.svc", "127.0.0.1"]
        let (ca, serving) = try ServingCertificateSet.write(to: directory, commonName: "webhook.ns.svc", sans: sans, keyType: .ecdsaP256, validity: 86400)
        #expect(ca.certificate.isCA && ca.certificate.isSelfSigned)
        #expect(serving.certificate.subjectAlternativeNames == ["DNS:webhook", "DNS:webhook.ns", "DNS:webhook.ns.svc", "IP:127.0.0.1"])
        for (name, mode) in [("ca.crt", 0o644), ("ca.key", 0o600), ("tls.crt", 0o644), ("tls.key", 0o600)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == mode, "\(name)")
        }
        let key = try PEMBundle.privateKey(from: Array(try Data(contentsOf: directory.appendingPathComponent("tls.key"))))
        let certificate = try PEMBundle.certificates(from: Array(try Data(contentsOf: directory.appendingPathComponent("tls.crt"))))
        #expect(certificate == [serving.certificate])
        #expect(key.matches(serving.certificate))
        let run = try OpenSSLCLI.run([
            "verify", "-purpose", "sslserver", "-CAfile", directory.appendingPathComponent("ca.crt").path, directory.appendingPathComponent("tls.crt").path,
        ])
        #expect(run.status == 0, "\(run.output)")
        // A second write replaces the set.
        let (_, again) = try ServingCertificateSet.write(to: directory, commonName: "webhook.ns.svc", sans: sans, keyType: .rsa2048, validity: 86400)
        let replaced = try PEMBundle.certificates(from: Array(try Data(contentsOf: directory.appendingPathComponent("tls.crt"))))
        #expect(replaced == [again.certificate])
    }
}
