import Certificates
import Foundation
import KubeModel
import Testing
@testable import Rules

/// docs/rules.md section 2.
@Suite struct PolicyReferenceRulesTests {
    static func findings(_ spec: String, state: [KubeObject], strict: Bool = false) throws -> [Finding] {
        var settings = Fixture.settings
        settings.strictReferences = strict
        return Fixture.evaluate(try Fixture.policy(spec), state: state, settings: settings).findings
            .filter { PolicyReferenceRules.ruleIDs.contains($0.rule) }
    }

    @Test(arguments: [
        ("{ingressMTLS: {clientCertSecret: ca}}", "ingress-mtls/client-cert-secret-ref", "spec.ingressMTLS.clientCertSecret"),
        ("{egressMTLS: {tlsSecret: tls}}", "egress-mtls/tls-secret-ref", "spec.egressMTLS.tlsSecret"),
        ("{egressMTLS: {trustedCertSecret: ca, verifyServer: true}}", "egress-mtls/trusted-cert-secret-ref", "spec.egressMTLS.trustedCertSecret"),
    ])
    func missingSecretWarnsThenDeniesWhenStrict(spec: String, rule: String, field: String) throws {
        let lenient = try Self.findings(spec, state: [])
        #expect(lenient.hits == ["\(rule)@\(field)"])
        #expect(lenient.first?.severity == .warn)
        #expect(lenient.first?.message.contains("500") == true)
        let strict = try Self.findings(spec, state: [], strict: true)
        #expect(strict.first?.severity == .deny)
    }

    @Test(arguments: [
        ("{ingressMTLS: {clientCertSecret: tls}}", "ingress-mtls/client-cert-secret-ref"),
        ("{ingressMTLS: {clientCertSecret: opaque}}", "ingress-mtls/client-cert-secret-ref"),
        ("{ingressMTLS: {clientCertSecret: garbage}}", "ingress-mtls/client-cert-secret-ref"),
        ("{egressMTLS: {tlsSecret: ca}}", "egress-mtls/tls-secret-ref"),
        ("{egressMTLS: {tlsSecret: badtls}}", "egress-mtls/tls-secret-ref"),
        ("{egressMTLS: {trustedCertSecret: tls}}", "egress-mtls/trusted-cert-secret-ref"),
    ])
    func wrongTypeOrInvalidContentDenies(spec: String, rule: String) throws {
        let state = [
            try Fixture.caSecret(), try Fixture.tlsSecret(),
            try Fixture.secret("opaque", type: "Opaque", data: ["ca.crt": "x"]),
            try Fixture.secret("garbage", type: "nginx.org/ca", data: ["ca.crt": "not a certificate"]),
            try Fixture.secret("badtls", type: "kubernetes.io/tls", data: ["tls.crt": "x", "tls.key": "y"]),
        ]
        let findings = try Self.findings(spec, state: state)
        #expect(findings.map(\.rule) == [RuleID(rule)], "\(findings)")
        #expect(findings.first?.severity == .deny)
    }

    @Test func wrongTypeMessageNamesBothTypes() throws {
        let findings = try Self.findings("{ingressMTLS: {clientCertSecret: opaque}}",
            state: [try Fixture.secret("opaque", type: "Opaque", data: ["ca.crt": "secret-bytes"])])
        let message = try #require(findings.first?.message)
        #expect(message.contains("\"Opaque\"") && message.contains("\"nginx.org/ca\"") && message.contains("ns/opaque"))
        #expect(!message.contains("secret-bytes"))
    }

    @Test func validSecretsAreQuiet() throws {
        let state = [try Fixture.caSecret(), try Fixture.tlsSecret()]
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: ca}}", state: state).isEmpty)
        #expect(try Self.findings("{egressMTLS: {tlsSecret: tls, trustedCertSecret: ca, verifyServer: true}}", state: state).isEmpty)
    }

    @Test func crlConflict() throws {
        let state = [try Fixture.caSecret(crl: true)]
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: ca, crlFileName: a.crl}}", state: state).hits
                == ["ingress-mtls/crl-conflict@spec.ingressMTLS.crlFileName"])
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: ca}}", state: state).isEmpty)
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: ca, crlFileName: a.crl}}", state: [try Fixture.caSecret()]).isEmpty)
    }

    /// A bundle root → intermediate → intermediate2: client certificates have 2 intermediates.
    static func deepBundle() throws -> KubeObject {
        let pki = try SecretTestPKI.get()
        let first = try CertificateFactory.issue(SecretTestPKI.request("Chain Intermediate 1", ca: true, pathLength: 1, to: 1000 * SecretTestPKI.day), by: pki.root)
        let deeper = try CertificateFactory.issue(SecretTestPKI.request("Chain Intermediate 2", ca: true, to: 900 * SecretTestPKI.day), by: first)
        let bundle = [pki.root, first, deeper].map { $0.certificate.pemEncoded() }.joined()
        return try Fixture.secret("deep", type: "nginx.org/ca", data: ["ca.crt": bundle])
    }

    @Test(arguments: [("", true), ("verifyDepth: 1, ", true), ("verifyDepth: 2, ", false), ("verifyDepth: 5, ", false)])
    func verifyDepthChain(depth: String, fires: Bool) throws {
        let findings = try Self.findings("{ingressMTLS: {\(depth)clientCertSecret: deep}}", state: [try Self.deepBundle()])
        #expect(findings.hits == (fires ? ["ingress-mtls/verify-depth-chain@spec.ingressMTLS.verifyDepth"] : []), "\(findings)")
    }

    /// Comments around the blocks neither break the CA Secret nor hide the chain from verify-depth-chain.
    @Test func commentedBundleIsReadLikeNGINXReadsIt() throws {
        let pki = try SecretTestPKI.get()
        let first = try CertificateFactory.issue(SecretTestPKI.request("Chain Intermediate 1", ca: true, pathLength: 1, to: 1000 * SecretTestPKI.day), by: pki.root)
        let deeper = try CertificateFactory.issue(SecretTestPKI.request("Chain Intermediate 2", ca: true, to: 900 * SecretTestPKI.day), by: first)
        let bundle = [pki.root, first, deeper].map { "# subject: something\n" + $0.certificate.pemEncoded() }.joined() + "# end\n"
        let secret = try Fixture.secret("commented", type: "nginx.org/ca", data: ["ca.crt": bundle])
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: commented}}", state: [secret]).hits
                == ["ingress-mtls/verify-depth-chain@spec.ingressMTLS.verifyDepth"])
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: commented, verifyDepth: 2}}", state: [secret]).isEmpty)
    }

    /// "" is unset: nothing to look up.
    @Test func emptySecretNamesAreNotLookedUp() throws {
        #expect(try Self.findings("{egressMTLS: {tlsSecret: \"\", trustedCertSecret: \"\"}}", state: []).isEmpty)
    }

    @Test func rootAndOneIntermediateFitTheDefaultDepth() throws {
        let pki = try SecretTestPKI.get()
        let bundle = [pki.root, pki.intermediate].map { $0.certificate.pemEncoded() }.joined()
        let secret = try Fixture.secret("two", type: "nginx.org/ca", data: ["ca.crt": bundle])
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: two}}", state: [secret]).isEmpty)
        #expect(try Self.findings("{ingressMTLS: {clientCertSecret: two, verifyDepth: 0}}", state: [secret]).hits
                == ["ingress-mtls/verify-depth-chain@spec.ingressMTLS.verifyDepth"])
    }
}
