import Certificates
import Foundation
import KubeModel
import TestSupport
import Testing
@testable import Rules

/// A CA hierarchy for SPIRE's upstream authority, generated at test time relative to `SecretTestPKI.now`.
struct UpstreamTestPKI: Sendable {
    let root: IssuedCertificate
    /// Self-signed with pathlen 1: too short for root → intermediate → SPIRE CA.
    let shortRoot: IssuedCertificate
    let otherRoot: IssuedCertificate
    let intermediate: IssuedCertificate
    let intermediatePathlen0: IssuedCertificate
    let underShortRoot: IssuedCertificate
    /// Signed by `intermediate` (pathlen 1): one CA too many below it once SPIRE's CA is added.
    let subIntermediate: IssuedCertificate
    let expiredIntermediate: IssuedCertificate
    let leaf: IssuedCertificate

    static func make() throws -> UpstreamTestPKI {
        typealias P = SecretTestPKI
        // Valid long before `now`, so that the expired intermediate below had a valid issuer during its life.
        let root = try CertificateFactory.selfSigned(P.request("Mesh Root CA", ca: true, from: -1000 * P.day, to: 3650 * P.day))
        let shortRoot = try CertificateFactory.selfSigned(P.request("Short Root CA", ca: true, pathLength: 1, to: 3650 * P.day))
        let intermediate = try CertificateFactory.issue(P.request("Mesh Intermediate CA", ca: true, pathLength: 1, to: 1000 * P.day), by: root)
        return UpstreamTestPKI(
            root: root,
            shortRoot: shortRoot,
            otherRoot: try CertificateFactory.selfSigned(P.request("Other Root CA", ca: true, to: 3650 * P.day)),
            intermediate: intermediate,
            intermediatePathlen0: try CertificateFactory.issue(P.request("Pathlen0 CA", ca: true, pathLength: 0), by: root),
            underShortRoot: try CertificateFactory.issue(P.request("Under Short Root CA", ca: true), by: shortRoot),
            subIntermediate: try CertificateFactory.issue(P.request("Sub Intermediate CA", ca: true), by: intermediate),
            expiredIntermediate: try CertificateFactory.issue(
                P.request("Expired Intermediate CA", ca: true, from: -400 * P.day, to: -2 * P.day), by: root),
            leaf: try CertificateFactory.issue(P.request("not-a-ca.example.com"), by: intermediate))
    }

    static let shared: Result<UpstreamTestPKI, any Error> = Result { try make() }
    static func get() throws -> UpstreamTestPKI { try shared.get() }
}

private let settings = Settings(now: SecretTestPKI.now)
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/upstream-ca")

private func json(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

private func fixture(_ name: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: fixtures.appendingPathComponent(name)))
}

private func pairs(_ findings: [Finding]) -> Set<String> {
    Set(findings.map { "\($0.rule) \($0.field)" })
}

/// Files that never exist: schema tests must not depend on the disk.
private let nothingOnDisk: UpstreamCARules.FileReader = { _ in .missing }

private func disk(cert: String = "signing.crt", key: String = "signing.key", bundle: String? = "bundle.crt") -> String {
    let bundleField = bundle.map { ", \"bundle_file_path\": \"\($0)\"" } ?? ""
    return """
        {"apiVersion": "v1", "upstreamAuthority": "disk",
         "config": {"cert_file_path": "\(cert)", "key_file_path": "\(key)"\(bundleField)}}
        """
}

struct UpstreamCARulesTests {
    // MARK: schema

    @Test("valid configurations of the authorities without files",
          arguments: ["aws_pca.json", "awssecret.json", "cert-manager.json"])
    func validWithoutFiles(name: String) throws {
        let findings = UpstreamCARules.check(document: try fixture(name), baseDirectory: fixtures, requireFiles: true,
                                             settings: settings, readFile: nothingOnDisk)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func validVaultOnlyWarnsAboutItsMissingCAFile() throws {
        let findings = UpstreamCARules.check(document: try fixture("vault.json"), baseDirectory: fixtures, requireFiles: false,
                                             settings: settings, readFile: nothingOnDisk)
        #expect(pairs(findings) == ["upstream-ca/pem config.ca_cert_path"])
        #expect(findings.allSatisfy { $0.severity == .warn })
    }

    struct SchemaCase: Sendable, CustomStringConvertible {
        let name: String
        let document: String
        let expected: Set<String>
        var messageContains: String? = nil
        var description: String { name }
    }

    static let schemaCases: [SchemaCase] = [
        SchemaCase(name: "not a mapping", document: "[1]", expected: ["upstream-ca/schema <object>"]),
        SchemaCase(name: "empty mapping", document: "{}",
                   expected: ["upstream-ca/schema apiVersion", "upstream-ca/schema upstreamAuthority", "upstream-ca/schema config"]),
        SchemaCase(name: "apiVersion v2",
                   document: #"{"apiVersion": "v2", "upstreamAuthority": "cert-manager", "config": {"namespace": "a", "issuer_name": "b"}}"#,
                   expected: ["upstream-ca/schema apiVersion"], messageContains: "\"v2\""),
        SchemaCase(name: "apiVersion number",
                   document: #"{"apiVersion": 1, "upstreamAuthority": "cert-manager", "config": {"namespace": "a", "issuer_name": "b"}}"#,
                   expected: ["upstream-ca/schema apiVersion"]),
        SchemaCase(name: "unknown authority",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "Disk", "config": {}}"#,
                   expected: ["upstream-ca/schema upstreamAuthority"], messageContains: "did you mean \"disk\""),
        SchemaCase(name: "unknown top-level field",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "cert-manager", "config": {"namespace": "a", "issuer_name": "b"}, "confg": {}}"#,
                   expected: ["upstream-ca/schema confg"], messageContains: "nearest valid field is \"config\""),
        SchemaCase(name: "config is a string",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "disk", "config": "x"}"#,
                   expected: ["upstream-ca/schema config"]),
        SchemaCase(name: "disk without key", document: #"{"apiVersion": "v1", "upstreamAuthority": "disk", "config": {"cert_file_path": "a"}}"#,
                   expected: ["upstream-ca/schema config.key_file_path", "upstream-ca/pem config.cert_file_path"]),
        SchemaCase(name: "disk unknown field", document: disk().replacingOccurrences(of: "bundle_file_path", with: "bundle_path"),
                   expected: ["upstream-ca/schema config.bundle_path", "upstream-ca/pem config.cert_file_path",
                              "upstream-ca/pem config.key_file_path"],
                   messageContains: "Unknown field \"bundle_path\" for upstreamAuthority \"disk\"; the nearest valid field is \"bundle_file_path\""),
        SchemaCase(name: "aws_pca field under disk", document: disk().replacingOccurrences(of: "bundle_file_path", with: "supplemental_bundle_path"),
                   expected: ["upstream-ca/schema config.supplemental_bundle_path", "upstream-ca/pem config.cert_file_path",
                              "upstream-ca/pem config.key_file_path"],
                   messageContains: "it is a field of upstreamAuthority \"aws_pca\""),
        SchemaCase(name: "disk empty path", document: disk(cert: ""),
                   expected: ["upstream-ca/schema config.cert_file_path", "upstream-ca/pem config.key_file_path",
                              "upstream-ca/pem config.bundle_file_path"]),
        SchemaCase(name: "aws_pca without region, bad ARN",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "aws_pca", "config": {"certificate_authority_arn": "my-ca"}}"#,
                   expected: ["upstream-ca/schema config.region", "upstream-ca/schema config.certificate_authority_arn"],
                   messageContains: "must be an ARN"),
        SchemaCase(name: "aws_pca with credentials",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "aws_pca", "config": {"region": "eu-west-1", "certificate_authority_arn": "arn:aws:acm-pca:eu-west-1:1:certificate-authority/x", "aws_access_key_id": "id", "aws_secret_access_key": "secret"}}"#,
                   expected: []),
        SchemaCase(name: "awssecret missing key ARN, region a number",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "awssecret", "config": {"region": 1, "cert_file_arn": "arn:aws:secretsmanager:us-east-1:1:secret:c"}}"#,
                   expected: ["upstream-ca/schema config.key_file_arn", "upstream-ca/schema config.region"]),
        SchemaCase(name: "awssecret bucket field is unknown",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "awssecret", "config": {"region": "r", "cert_file_arn": "arn:a:b:c:d:e", "key_file_arn": "arn:a:b:c:d:f", "aws_secret_tokn": "t"}}"#,
                   expected: ["upstream-ca/schema config.aws_secret_tokn"], messageContains: "\"aws_secret_token\""),
        SchemaCase(name: "vault without auth",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "vault", "config": {"vault_addr": "https://v", "namespace": "n", "ca_cert_path": "/nonexistent/ca.crt"}}"#,
                   expected: ["upstream-ca/schema config", "upstream-ca/pem config.ca_cert_path"], messageContains: "exactly one of"),
        SchemaCase(name: "vault with two auths",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "vault", "config": {"vault_addr": "https://v", "namespace": "n", "ca_cert_path": "/nonexistent/ca.crt", "token_auth": {"token": "t"}, "approle_auth": {"approle_id": "i", "approle_secret_id": "s"}}}"#,
                   expected: ["upstream-ca/schema config", "upstream-ca/pem config.ca_cert_path"], messageContains: "token_auth and approle_auth"),
        SchemaCase(name: "vault auth block fields",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "vault", "config": {"vault_addr": "https://v", "namespace": "n", "ca_cert_path": "/nonexistent/ca.crt", "insecure_skip_verify": "false", "cert_auth": {"client_crt_path": "c.crt", "client_key_path": "c.key"}}}"#,
                   expected: ["upstream-ca/schema config.insecure_skip_verify", "upstream-ca/schema config.cert_auth.client_crt_path",
                              "upstream-ca/schema config.cert_auth.client_cert_path", "upstream-ca/pem config.ca_cert_path",
                              "upstream-ca/pem config.cert_auth.client_key_path"],
                   messageContains: "\"client_cert_path\""),
        SchemaCase(name: "vault token auth without token",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "vault", "config": {"vault_addr": "https://v", "namespace": "n", "ca_cert_path": "/nonexistent/ca.crt", "token_auth": {}}}"#,
                   expected: ["upstream-ca/schema config.token_auth.token", "upstream-ca/pem config.ca_cert_path"]),
        SchemaCase(name: "cert-manager empty issuer, unknown field",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "cert-manager", "config": {"namespace": "cm", "issuer_name": "", "issuer": "x"}}"#,
                   expected: ["upstream-ca/schema config.issuer_name", "upstream-ca/schema config.issuer"],
                   messageContains: "nearest valid field is \"issuer_name\""),
        SchemaCase(name: "cert-manager without namespace",
                   document: #"{"apiVersion": "v1", "upstreamAuthority": "cert-manager", "config": {"issuer_name": "i"}}"#,
                   expected: ["upstream-ca/schema config.namespace"]),
    ]

    @Test("schema", arguments: schemaCases)
    func schemaCase(_ c: SchemaCase) throws {
        let findings = UpstreamCARules.check(document: try json(c.document), baseDirectory: fixtures, requireFiles: false,
                                             settings: settings, readFile: nothingOnDisk)
        #expect(pairs(findings) == c.expected, "\(findings)")
        if let text = c.messageContains {
            #expect(findings.contains { $0.message.contains(text) }, "\(findings)")
        }
        #expect(findings.allSatisfy { $0.severity == ($0.rule == "upstream-ca/schema" ? .deny : .warn) })
    }

    @Test func secretValuesAreNeverEchoed() throws {
        let document = try json(#"{"apiVersion": "v1", "upstreamAuthority": "vault", "config": {"vault_addr": 1, "namespace": "n", "ca_cert_path": "/x", "token_auth": {"token": 42, "tokn": "hunter2-secret"}}}"#)
        let findings = UpstreamCARules.check(document: document, baseDirectory: fixtures, requireFiles: false,
                                             settings: settings, readFile: nothingOnDisk)
        #expect(!findings.isEmpty)
        #expect(findings.allSatisfy { !$0.message.contains("hunter2") && !$0.message.contains("42") })
    }

    @Test("edit distance", arguments: [("bundle_path", "bundle_file_path"), ("CERT_FILE_PATH", "cert_file_path"), ("keyfile", "key_file_path")])
    func nearestField(word: String, expected: String) {
        let valid = ["cert_file_path", "key_file_path", "bundle_file_path"]
        #expect(UpstreamCARules.nearest(to: word, in: valid) == expected)
        #expect(UpstreamCARules.editDistance("kitten", "sitting") == 3)
    }

    // MARK: disk, with real files

    struct DiskCase: Sendable, CustomStringConvertible {
        let name: String
        /// signing.crt, signing.key, bundle.crt contents; nil = not written.
        let files: @Sendable (UpstreamTestPKI) -> [String: String]
        var withBundle = true
        let expected: Set<String>
        var messageContains: String? = nil
        var description: String { name }
    }

    static let diskCases: [DiskCase] = [
        DiskCase(name: "intermediate signs, root in bundle",
                 files: { ["signing.crt": $0.intermediate.certificatePEM, "signing.key": $0.intermediate.privateKeyPEM,
                           "bundle.crt": $0.root.certificatePEM] },
                 expected: []),
        DiskCase(name: "key does not match",
                 files: { ["signing.crt": $0.intermediate.certificatePEM, "signing.key": $0.root.privateKeyPEM,
                           "bundle.crt": $0.root.certificatePEM] },
                 expected: ["upstream-ca/key-match config.key_file_path"], messageContains: "CN=Mesh Intermediate CA"),
        DiskCase(name: "pathlen 0 cannot sign SPIRE's CA",
                 files: { ["signing.crt": $0.intermediatePathlen0.certificatePEM, "signing.key": $0.intermediatePathlen0.privateKeyPEM,
                           "bundle.crt": $0.root.certificatePEM] },
                 expected: ["upstream-ca/pathlen config.cert_file_path"], messageContains: "pathlen 0"),
        DiskCase(name: "not a CA",
                 files: { ["signing.crt": $0.leaf.certificatePEM, "signing.key": $0.leaf.privateKeyPEM,
                           "bundle.crt": $0.root.certificatePEM + $0.intermediate.certificatePEM] },
                 expected: ["upstream-ca/pathlen config.cert_file_path"], messageContains: "not a CA"),
        DiskCase(name: "self-signed root signs directly",
                 files: { ["signing.crt": $0.root.certificatePEM, "signing.key": $0.root.privateKeyPEM] }, withBundle: false,
                 expected: ["upstream-ca/root-direct config.cert_file_path"]),
        DiskCase(name: "root in bundle has pathlen 1",
                 files: { ["signing.crt": $0.underShortRoot.certificatePEM, "signing.key": $0.underShortRoot.privateKeyPEM,
                           "bundle.crt": $0.shortRoot.certificatePEM] },
                 expected: ["upstream-ca/pathlen config.bundle_file_path"], messageContains: "CN=Short Root CA has pathlen 1"),
        DiskCase(name: "chain through an intermediate in cert_file_path exceeds its pathlen",
                 files: { ["signing.crt": $0.subIntermediate.certificatePEM + $0.intermediate.certificatePEM,
                           "signing.key": $0.subIntermediate.privateKeyPEM, "bundle.crt": $0.root.certificatePEM] },
                 expected: ["upstream-ca/pathlen config.cert_file_path"], messageContains: "CN=Mesh Intermediate CA has pathlen 1"),
        DiskCase(name: "chain through an intermediate in the bundle",
                 files: { ["signing.crt": $0.subIntermediate.certificatePEM, "signing.key": $0.subIntermediate.privateKeyPEM,
                           "bundle.crt": $0.intermediate.certificatePEM + $0.root.certificatePEM] },
                 expected: ["upstream-ca/pathlen config.bundle_file_path"]),
        DiskCase(name: "bundle of another root",
                 files: { ["signing.crt": $0.intermediate.certificatePEM, "signing.key": $0.intermediate.privateKeyPEM,
                           "bundle.crt": $0.otherRoot.certificatePEM] },
                 expected: ["upstream-ca/chain config.cert_file_path"], messageContains: "unable to get local issuer certificate"),
        DiskCase(name: "expired signing certificate: expiry only, chain shape is fine",
                 files: { ["signing.crt": $0.expiredIntermediate.certificatePEM, "signing.key": $0.expiredIntermediate.privateKeyPEM,
                           "bundle.crt": $0.root.certificatePEM] },
                 expected: ["upstream-ca/expiry config.cert_file_path"], messageContains: "expired on"),
        DiskCase(name: "bundle is garbage",
                 files: { ["signing.crt": $0.intermediate.certificatePEM, "signing.key": $0.intermediate.privateKeyPEM,
                           "bundle.crt": "root goes here\n"] },
                 expected: ["upstream-ca/pem config.bundle_file_path"]),
        DiskCase(name: "key file holds a certificate",
                 files: { ["signing.crt": $0.intermediate.certificatePEM, "signing.key": $0.intermediate.certificatePEM,
                           "bundle.crt": $0.root.certificatePEM] },
                 expected: ["upstream-ca/pem config.key_file_path"], messageContains: "is not a PEM private key"),
        DiskCase(name: "cert file holds a key",
                 files: { ["signing.crt": $0.intermediate.privateKeyPEM, "signing.key": $0.intermediate.privateKeyPEM,
                           "bundle.crt": $0.root.certificatePEM] },
                 expected: ["upstream-ca/pem config.cert_file_path"]),
        DiskCase(name: "missing files warn",
                 files: { ["signing.crt": $0.intermediate.certificatePEM] },
                 expected: ["upstream-ca/pem config.key_file_path", "upstream-ca/pem config.bundle_file_path"],
                 messageContains: "--require-files"),
    ]

    @Test("disk authority with real files", arguments: diskCases)
    func diskFiles(_ c: DiskCase) throws {
        let pki = try UpstreamTestPKI.get()
        let directory = try TemporaryDirectory()
        for (name, content) in c.files(pki) { try directory.write(name, content) }
        let findings = UpstreamCARules.check(document: try json(disk(bundle: c.withBundle ? "bundle.crt" : nil)),
                                             baseDirectory: directory.url, requireFiles: false, settings: settings)
        #expect(pairs(findings) == c.expected, "\(findings)")
        if let text = c.messageContains {
            #expect(findings.contains { $0.message.contains(text) }, "\(findings)")
        }
        let warnRules: Set<RuleID> = ["upstream-ca/root-direct", "upstream-ca/expiry"]
        for finding in findings where finding.rule != "upstream-ca/pem" {
            #expect(finding.severity == (warnRules.contains(finding.rule) ? .warn : .deny))
        }
    }

    @Test("missing files: warn by default, deny with --require-files", arguments: [false, true])
    func missingFiles(requireFiles: Bool) throws {
        let directory = try TemporaryDirectory()
        let findings = UpstreamCARules.check(document: try json(disk()), baseDirectory: directory.url,
                                             requireFiles: requireFiles, settings: settings)
        #expect(pairs(findings) == ["upstream-ca/pem config.cert_file_path", "upstream-ca/pem config.key_file_path",
                                    "upstream-ca/pem config.bundle_file_path"])
        #expect(findings.allSatisfy { $0.severity == (requireFiles ? .deny : .warn) })
        #expect(findings.allSatisfy { $0.message.contains(directory.url.lastPathComponent) })
    }

    @Test func directoryIsUnreadable() throws {
        let pki = try UpstreamTestPKI.get()
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: directory.url.appendingPathComponent("bundle.crt"), withIntermediateDirectories: true)
        try directory.write("signing.crt", pki.intermediate.certificatePEM)
        try directory.write("signing.key", pki.intermediate.privateKeyPEM)
        let findings = UpstreamCARules.check(document: try json(disk()), baseDirectory: directory.url, requireFiles: false, settings: settings)
        #expect(pairs(findings) == ["upstream-ca/pem config.bundle_file_path"])
        #expect(findings.first?.severity == .deny)
    }

    @Test func absolutePathsAndTheFixture() throws {
        let pki = try UpstreamTestPKI.get()
        let directory = try TemporaryDirectory()
        try directory.write("intermediate.crt", pki.intermediate.certificatePEM)
        try directory.write("intermediate.key", pki.intermediate.privateKeyPEM)
        try directory.write("root.crt", pki.root.certificatePEM)
        // The fixture's relative paths resolve against the given directory.
        let relative = UpstreamCARules.check(document: try fixture("disk.json"), baseDirectory: directory.url,
                                             requireFiles: true, settings: settings)
        #expect(relative.isEmpty, "\(relative)")
        // Absolute paths ignore it.
        let absolute = try json(disk(cert: directory.url.appendingPathComponent("intermediate.crt").path,
                                     key: directory.url.appendingPathComponent("intermediate.key").path,
                                     bundle: directory.url.appendingPathComponent("root.crt").path))
        #expect(UpstreamCARules.check(document: absolute, baseDirectory: fixtures, requireFiles: true, settings: settings).isEmpty)
    }

    @Test func expiringSoonWarns() throws {
        let pki = try SecretTestPKI.get()
        let directory = try TemporaryDirectory()
        try directory.write("signing.crt", pki.root.certificatePEM)
        try directory.write("signing.key", pki.root.privateKeyPEM)
        try directory.write("bundle.crt", pki.root.certificatePEM + pki.expiringSoon.certificatePEM)
        let findings = UpstreamCARules.check(document: try json(disk()), baseDirectory: directory.url, requireFiles: true, settings: settings)
        #expect(pairs(findings) == ["upstream-ca/root-direct config.cert_file_path", "upstream-ca/expiry config.bundle_file_path"])
        #expect(findings.contains { $0.message.contains("certificate 2 (CN=soon.example.com) expires on") })
    }

    // MARK: aws_pca supplemental bundle

    @Test("aws_pca supplemental bundle roots need pathlen >= 2", arguments: [(false, false), (true, true)])
    func supplementalBundle(shortRoot: Bool, fires: Bool) throws {
        let pki = try UpstreamTestPKI.get()
        let directory = try TemporaryDirectory()
        try directory.write("roots.pem", (shortRoot ? pki.shortRoot : pki.root).certificatePEM)
        let document = try json(#"{"apiVersion": "v1", "upstreamAuthority": "aws_pca", "config": {"region": "r", "certificate_authority_arn": "arn:aws:acm-pca:r:1:certificate-authority/x", "supplemental_bundle_path": "roots.pem"}}"#)
        let findings = UpstreamCARules.check(document: document, baseDirectory: directory.url, requireFiles: true, settings: settings)
        #expect(pairs(findings) == (fires ? ["upstream-ca/pathlen config.supplemental_bundle_path"] : []))
    }
}

/// `mtls-guard check-upstream-ca` end to end: the binary `swift test` builds next to the test bundle.
struct CheckUpstreamCACommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func binary() throws -> URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundleDirectory, bundleDirectory.deletingLastPathComponent()].map { $0.appendingPathComponent("mtls-guard") }
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
                            "mtls-guard is built by `swift test`; looked in \(candidates.map(\.path))")
    }

    static func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = ["check-upstream-ca"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// disk.yaml copied into a temp directory with the certificate files it names.
    /// Certificates valid at the real current time: the CLI judges at the time it runs.
    static func diskDirectory(mismatchedKey: Bool = false) throws -> TemporaryDirectory {
        let root = try CertificateFactory.selfSigned(CertificateRequest(commonName: "CLI Root CA", isCA: true))
        let intermediate = try CertificateFactory.issue(CertificateRequest(commonName: "CLI Intermediate CA", isCA: true, pathLength: 1), by: root)
        let directory = try TemporaryDirectory()
        try directory.write("disk.yaml", String(decoding: try Data(contentsOf: fixtures.appendingPathComponent("disk.yaml")), as: UTF8.self))
        try directory.write("intermediate.crt", intermediate.certificatePEM)
        try directory.write("intermediate.key", (mismatchedKey ? root : intermediate).privateKeyPEM)
        try directory.write("root.crt", root.certificatePEM)
        return directory
    }

    @Test func validDiskConfigurationExitsZero() throws {
        let directory = try Self.diskDirectory()
        let run = try Self.run([directory.url.appendingPathComponent("disk.yaml").path, "--require-files"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasSuffix("0 denied, 0 warned\n"))
    }

    @Test func keyMismatchExitsOneWithJSON() throws {
        let directory = try Self.diskDirectory(mismatchedKey: true)
        let run = try Self.run([directory.url.appendingPathComponent("disk.yaml").path, "--output", "json"])
        #expect(run.status == 1)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(run.stdout.utf8))
        let findings = report["findings"]?.arrayValue ?? []
        #expect(findings.map { "\($0["rule"]?.stringValue ?? "") \($0["field"]?.stringValue ?? "")" }
                == ["upstream-ca/key-match config.key_file_path"])
        #expect(findings.first?["severity"]?.stringValue == "deny")
        #expect(report["summary"]?["denied"]?.integerValue == 1)
    }

    @Test func unknownFieldsInYAML() throws {
        let run = try Self.run([fixtures.appendingPathComponent("unknown-fields.yaml").path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("upstreamAuthorty: Unknown field \"upstreamAuthorty\" at the top level; the nearest valid field is \"upstreamAuthority\" (upstream-ca/schema) [deny]"))
    }

    @Test("missing files: exit 0 with warnings, 1 with --require-files", arguments: [false, true])
    func missingFiles(requireFiles: Bool) throws {
        let directory = try TemporaryDirectory()
        try directory.write("disk.json", String(decoding: try Data(contentsOf: fixtures.appendingPathComponent("disk.json")), as: UTF8.self))
        let run = try Self.run([directory.url.appendingPathComponent("disk.json").path] + (requireFiles ? ["--require-files"] : []))
        #expect(run.status == (requireFiles ? 1 : 0))
        #expect(run.stdout.contains(requireFiles ? "3 denied, 0 warned" : "0 denied, 3 warned"))
    }

    @Test("unreadable or unparseable FILE exits 2", arguments: ["broken.yaml", "does-not-exist.yaml"])
    func unusableFile(name: String) throws {
        let run = try Self.run([fixtures.appendingPathComponent(name).path])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("error: "))
        #expect(!run.stderr.contains("[unclosed"))  // the document is never echoed
    }

    @Test("--expiry-window-days", arguments: [(5, false), (30, true)])
    func expiryWindow(days: Int, warns: Bool) throws {
        let directory = try TemporaryDirectory()
        // Relative to the real clock: the CLI judges at the time it runs.
        let root = try CertificateFactory.selfSigned(CertificateRequest(
            commonName: "Soon Root", isCA: true, notAfter: Date(timeIntervalSinceNow: 10 * SecretTestPKI.day)))
        try directory.write("signing.crt", root.certificatePEM)
        try directory.write("signing.key", root.privateKeyPEM)
        try directory.write("c.json", #"{"apiVersion": "v1", "upstreamAuthority": "disk", "config": {"cert_file_path": "signing.crt", "key_file_path": "signing.key"}}"#)
        let run = try Self.run([directory.url.appendingPathComponent("c.json").path, "--expiry-window-days", "\(days)"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("(upstream-ca/expiry) [warn]") == warns, "\(run.stdout)")
        #expect(run.stdout.contains("(upstream-ca/root-direct) [warn]"))
    }
}
