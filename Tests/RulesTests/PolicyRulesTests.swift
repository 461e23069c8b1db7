import Foundation
import KubeModel
import Testing
@testable import Rules

/// docs/rules.md section 1, including NIC's own validation test cases.
@Suite struct PolicyRulesTests {
    static let long254 = String(repeating: "a", count: 254)

    /// (spec as YAML flow mapping, rule, field it must fire at)
    static let firing: [(String, String, String)] = [
        ("{}", "policy/one-type", "spec"),
        ("{ingressMTLS: {clientCertSecret: ca}, egressMTLS: {}}", "policy/one-type", "spec"),
        ("{ingressMTLS: {clientCertSecret: ca}, rateLimit: {rate: 1r/s}}", "policy/one-type", "spec"),
        ("{ingressMTLS: x}", "policy/one-type", "spec.ingressMTLS"),
        // Every member but ingressClassName is a type, known to this code or not.
        ("{cache: {cacheZoneName: z, cacheZoneSize: 10m}, ingressMTLS: {clientCertSecret: ca}}", "policy/one-type", "spec"),
        ("{someFutureType: {}, egressMTLS: {}}", "policy/one-type", "spec"),
        ("{ingressClassName: nginx}", "policy/one-type", "spec"),
        ("{ingressMTLS: {clientCertSecret: \"\"}}", "ingress-mtls/client-cert-secret", "spec.ingressMTLS.clientCertSecret"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional}}", "ingress-mtls/optional-client", "spec.ingressMTLS.verifyClient"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: \"\", sslName: a.example.com}}", "egress-mtls/trusted-cert-secret", "spec.egressMTLS.trustedCertSecret"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca}}", "egress-mtls/ssl-name-missing", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca, sslName: \"\"}}", "egress-mtls/ssl-name-missing", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca, serverName: true}}", "egress-mtls/ssl-name-missing", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {protocols: \"\"}}", "egress-mtls/weak-protocols", "spec.egressMTLS.protocols"),
        ("{ingressMTLS: {}}", "ingress-mtls/client-cert-secret", "spec.ingressMTLS.clientCertSecret"),
        ("{ingressMTLS: {clientCertSecret: -foo-}}", "ingress-mtls/client-cert-secret", "spec.ingressMTLS.clientCertSecret"),
        ("{ingressMTLS: {clientCertSecret: other/ca}}", "ingress-mtls/client-cert-secret", "spec.ingressMTLS.clientCertSecret"),
        ("{ingressMTLS: {clientCertSecret: 12}}", "ingress-mtls/client-cert-secret", "spec.ingressMTLS.clientCertSecret"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: true}}", "ingress-mtls/verify-client", "spec.ingressMTLS.verifyClient"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: false}}", "ingress-mtls/verify-client", "spec.ingressMTLS.verifyClient"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: on}}", "ingress-mtls/verify-client", "spec.ingressMTLS.verifyClient"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: foo}}", "ingress-mtls/verify-client", "spec.ingressMTLS.verifyClient"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"On\"}}", "ingress-mtls/verify-client", "spec.ingressMTLS.verifyClient"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyDepth: -1}}", "ingress-mtls/verify-depth", "spec.ingressMTLS.verifyDepth"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyDepth: \"2\"}}", "ingress-mtls/verify-depth", "spec.ingressMTLS.verifyDepth"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyDepth: 1.5}}", "ingress-mtls/verify-depth", "spec.ingressMTLS.verifyDepth"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: ../etc/crl.pem}}", "ingress-mtls/crl-file-name", "spec.ingressMTLS.crlFileName"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: \"a.crl;\"}}", "ingress-mtls/crl-file-name", "spec.ingressMTLS.crlFileName"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: \"a b.crl\"}}", "ingress-mtls/crl-file-name", "spec.ingressMTLS.crlFileName"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: \"${x}\"}}", "ingress-mtls/crl-file-name", "spec.ingressMTLS.crlFileName"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: \(String(repeating: "c", count: 256))}}", "ingress-mtls/crl-file-name", "spec.ingressMTLS.crlFileName"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"off\"}}", "ingress-mtls/no-verification", "spec.ingressMTLS.verifyClient"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional_no_ca}}", "ingress-mtls/no-verification", "spec.ingressMTLS.verifyClient"),
        ("{egressMTLS: {tlsSecret: Bad_Secret}}", "egress-mtls/tls-secret", "spec.egressMTLS.tlsSecret"),
        ("{egressMTLS: {trustedCertSecret: -x}}", "egress-mtls/trusted-cert-secret", "spec.egressMTLS.trustedCertSecret"),
        ("{egressMTLS: {verifyServer: true}}", "egress-mtls/trusted-cert-secret", "spec.egressMTLS.trustedCertSecret"),
        ("{egressMTLS: {verifyServer: \"true\", trustedCertSecret: ca}}", "egress-mtls/trusted-cert-secret", "spec.egressMTLS.verifyServer"),
        ("{egressMTLS: {verifyDepth: -1}}", "egress-mtls/verify-depth", "spec.egressMTLS.verifyDepth"),
        ("{egressMTLS: {verifyDepth: \"1\"}}", "egress-mtls/verify-depth", "spec.egressMTLS.verifyDepth"),
        ("{egressMTLS: {sslName: \"foo.com;\"}}", "egress-mtls/ssl-name", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {sslName: Foo.com}}", "egress-mtls/ssl-name", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {sslName: \"*.foo.com\"}}", "egress-mtls/ssl-name", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {sslName: \"foo.com:443\"}}", "egress-mtls/ssl-name", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {sslName: \"$host\"}}", "egress-mtls/ssl-name", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {serverName: \"yes\"}}", "egress-mtls/ssl-name", "spec.egressMTLS.serverName"),
        ("{egressMTLS: {protocols: TLSv1.4}}", "egress-mtls/protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {protocols: \"TLSv1.2 TLSv1.2\"}}", "egress-mtls/protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {protocols: \" \"}}", "egress-mtls/protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {protocols: tlsv1.2}}", "egress-mtls/protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {ciphers: \"eNULL:!eNULL\"}}", "egress-mtls/ciphers", "spec.egressMTLS.ciphers"),
        ("{egressMTLS: {ciphers: \"HIGH; MD5\"}}", "egress-mtls/ciphers", "spec.egressMTLS.ciphers"),
        ("{egressMTLS: {ciphers: NO-SUCH-CIPHER}}", "egress-mtls/ciphers", "spec.egressMTLS.ciphers"),
        ("{egressMTLS: {}}", "egress-mtls/weak-protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {protocols: \"TLSv1.1 TLSv1.2\"}}", "egress-mtls/weak-protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {protocols: SSLv3}}", "egress-mtls/weak-protocols", "spec.egressMTLS.protocols"),
        ("{egressMTLS: {}}", "egress-mtls/no-verification", "spec.egressMTLS.verifyServer"),
        ("{egressMTLS: {verifyServer: false}}", "egress-mtls/no-verification", "spec.egressMTLS.verifyServer"),
        ("{egressMTLS: {sslName: foo.com}}", "egress-mtls/ssl-name-unused", "spec.egressMTLS.sslName"),
        ("{egressMTLS: {sslName: foo.com, verifyServer: false, serverName: false}}", "egress-mtls/ssl-name-unused", "spec.egressMTLS.sslName"),
    ]

    @Test(arguments: firing)
    func ruleFires(spec: String, rule: String, field: String) throws {
        let findings = PolicyRules.findings(try Fixture.policyView(spec))
        #expect(findings.hits.contains("\(rule)@\(field)"), "\(spec): \(findings)")
        let catalogued = try #require(RuleCatalogue.descriptor(for: RuleID(rule)))
        #expect(findings.with(rule: RuleID(rule)).allSatisfy { $0.severity == catalogued.severity || $0.severity == .deny })
    }

    /// (spec, rule that must stay quiet)
    static let quiet: [(String, String)] = [
        ("{ingressMTLS: {clientCertSecret: ca}}", "policy/one-type"),
        ("{ingressMTLS: {}}", "policy/one-type"),
        ("{egressMTLS: {}}", "policy/one-type"),
        ("{ingressMTLS: {clientCertSecret: ca}, egressMTLS: null}", "policy/one-type"),
        ("{ingressClassName: nginx, accessControl: {allow: [10.0.0.0/8]}}", "policy/one-type"),
        // cache is a NIC 5.5 type: a cache Policy is valid.
        ("{cache: {cacheZoneName: z, cacheZoneSize: 10m}}", "policy/one-type"),
        ("{ingressClassName: nginx, cache: {cacheZoneName: z, cacheZoneSize: 10m}}", "policy/one-type"),
        ("{someFutureType: {x: 1}}", "policy/one-type"),
        // Empty means unset: "" is NIC's default, never a violation (trustedCertSecret with verifyServer aside).
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"\"}}", "ingress-mtls/verify-client"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"\"}}", "ingress-mtls/no-verification"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"\"}}", "ingress-mtls/optional-client"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: \"\"}}", "ingress-mtls/crl-file-name"),
        ("{egressMTLS: {tlsSecret: \"\"}}", "egress-mtls/tls-secret"),
        ("{egressMTLS: {trustedCertSecret: \"\"}}", "egress-mtls/trusted-cert-secret"),
        ("{egressMTLS: {sslName: \"\"}}", "egress-mtls/ssl-name"),
        ("{egressMTLS: {sslName: \"\"}}", "egress-mtls/ssl-name-unused"),
        ("{egressMTLS: {protocols: \"\"}}", "egress-mtls/protocols"),
        ("{egressMTLS: {ciphers: \"\"}}", "egress-mtls/ciphers"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"on\"}}", "ingress-mtls/optional-client"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional_no_ca}}", "ingress-mtls/optional-client"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca, sslName: backend.example.com}}", "egress-mtls/ssl-name-missing"),
        ("{egressMTLS: {verifyServer: false}}", "egress-mtls/ssl-name-missing"),
        ("{egressMTLS: {}}", "egress-mtls/ssl-name-missing"),
        ("{ingressMTLS: {clientCertSecret: ca}}", "ingress-mtls/client-cert-secret"),
        ("{ingressMTLS: {clientCertSecret: ingress-mtls.secret-1}}", "ingress-mtls/client-cert-secret"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"on\"}}", "ingress-mtls/verify-client"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"off\"}}", "ingress-mtls/verify-client"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional}}", "ingress-mtls/verify-client"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional_no_ca}}", "ingress-mtls/verify-client"),
        ("{ingressMTLS: {clientCertSecret: ca}}", "ingress-mtls/verify-client"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyDepth: 0}}", "ingress-mtls/verify-depth"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyDepth: 2}}", "ingress-mtls/verify-depth"),
        ("{ingressMTLS: {clientCertSecret: ca, crlFileName: webapp.crl}}", "ingress-mtls/crl-file-name"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"on\"}}", "ingress-mtls/no-verification"),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional}}", "ingress-mtls/no-verification"),
        ("{egressMTLS: {tlsSecret: egress-tls}}", "egress-mtls/tls-secret"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca}}", "egress-mtls/trusted-cert-secret"),
        ("{egressMTLS: {verifyServer: false}}", "egress-mtls/trusted-cert-secret"),
        ("{egressMTLS: {verifyDepth: 0}}", "egress-mtls/verify-depth"),
        ("{egressMTLS: {verifyDepth: 2}}", "egress-mtls/verify-depth"),
        ("{egressMTLS: {sslName: foo.com}}", "egress-mtls/ssl-name"),
        ("{egressMTLS: {protocols: \"TLSv1.2 TLSv1.3\"}}", "egress-mtls/protocols"),
        ("{egressMTLS: {protocols: \"TLSv1.2  TLSv1.3\"}}", "egress-mtls/protocols"),
        ("{egressMTLS: {ciphers: \"HIGH:!aNULL:!MD5\"}}", "egress-mtls/ciphers"),
        ("{egressMTLS: {ciphers: \"ECDHE-RSA-AES128-GCM-SHA256:@STRENGTH\"}}", "egress-mtls/ciphers"),
        ("{egressMTLS: {protocols: \"TLSv1.2 TLSv1.3\"}}", "egress-mtls/weak-protocols"),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca}}", "egress-mtls/no-verification"),
        ("{egressMTLS: {sslName: foo.com, verifyServer: true, trustedCertSecret: ca}}", "egress-mtls/ssl-name-unused"),
        ("{egressMTLS: {sslName: foo.com, serverName: true}}", "egress-mtls/ssl-name-unused"),
        ("{egressMTLS: {}}", "egress-mtls/ssl-name-unused"),
        // Non-mTLS policies are out of scope beyond policy/one-type.
        ("{rateLimit: {rate: 10r/s}}", "ingress-mtls/client-cert-secret"),
    ]

    @Test(arguments: quiet)
    func ruleStaysQuiet(spec: String, rule: String) throws {
        let findings = PolicyRules.findings(try Fixture.policyView(spec))
        #expect(findings.with(rule: RuleID(rule)).isEmpty, "\(spec): \(findings)")
    }

    /// NIC's validation table: valid means no deny finding at all.
    @Test(arguments: [
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"on\", verifyDepth: 0}}", true),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: optional_no_ca, verifyDepth: 2}}", true),
        ("{egressMTLS: {}}", true),
        ("{egressMTLS: {tlsSecret: s, verifyServer: true, trustedCertSecret: ca, sslName: foo.com, serverName: true}}", true),
        ("{cache: {cacheZoneName: z, cacheZoneSize: 10m}}", true),
        ("{cache: {cacheZoneName: z, cacheZoneSize: 10m}, ingressMTLS: {clientCertSecret: ca}}", false),
        ("{egressMTLS: {tlsSecret: \"\", sslName: \"\", protocols: \"\", ciphers: \"\"}}", true),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: \"\"}}", false),
        // Beyond-NIC denials do not make NIC drop the Policy.
        ("{egressMTLS: {protocols: TLSv9, ciphers: \"eNULL:!eNULL\"}}", true),
        ("{egressMTLS: {verifyServer: true, trustedCertSecret: ca}}", true),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"true\"}}", false),
        ("{ingressMTLS: {clientCertSecret: ca, verifyClient: \"false\"}}", false),
        ("{ingressMTLS: {clientCertSecret: ca}, egressMTLS: {}}", false),
        ("{}", false),
    ])
    func nicValidity(spec: String, valid: Bool) throws {
        #expect(PolicyRules.isValid(try Fixture.policyView(spec)) == valid)
    }

    @Test func emptyClientCertSecretIsRequired() throws {
        let finding = try #require(PolicyRules.findings(try Fixture.policyView("{ingressMTLS: {clientCertSecret: \"\"}}")).first)
        #expect(finding.message.hasPrefix("Required value"))
    }

    @Test func sslNameMissingSaysWhatToSet() throws {
        let finding = try #require(PolicyRules.findings(try Fixture.policyView("{egressMTLS: {verifyServer: true, trustedCertSecret: ca}}"))
            .with(rule: "egress-mtls/ssl-name-missing").first)
        #expect(finding.severity == .deny)
        #expect(finding.message.contains("$proxy_host") && finding.message.contains("set sslName"))
    }

    @Test func oneTypeNamesTheTypesAndTheFix() throws {
        let finding = try #require(PolicyRules.findings(try Fixture.policyView("{cache: {cacheZoneName: z}, ingressMTLS: {clientCertSecret: ca}}"))
            .with(rule: "policy/one-type").first)
        #expect(finding.message.contains("cache, ingressMTLS") && finding.message.contains("one Policy per type"))
    }

    @Test func unquotedOnSaysToQuoteIt() throws {
        let finding = try #require(PolicyRules.findings(try Fixture.policyView("{ingressMTLS: {clientCertSecret: ca, verifyClient: on}}"))
            .with(rule: "ingress-mtls/verify-client").first)
        #expect(finding.severity == .deny)
        #expect(finding.message.contains("quote it"))
        #expect(finding.message.contains("\"on\""))
    }

    @Test func unsupportedValueMessageListsSupportedValues() throws {
        let finding = try #require(PolicyRules.findings(try Fixture.policyView("{ingressMTLS: {clientCertSecret: ca, verifyClient: maybe}}")).first)
        #expect(finding.description == #"spec.ingressMTLS.verifyClient: Unsupported value: "maybe": supported values: "off", "on", "optional", "optional_no_ca" (ingress-mtls/verify-client)"#)
    }

    @Test func everyErrorIsReportedNotJustTheFirst() throws {
        let findings = PolicyRules.findings(try Fixture.policyView("{ingressMTLS: {clientCertSecret: -foo-, verifyClient: true, verifyDepth: -1, crlFileName: a/b}}"))
        #expect(findings.denies.hits == [
            "ingress-mtls/client-cert-secret@spec.ingressMTLS.clientCertSecret", "ingress-mtls/verify-client@spec.ingressMTLS.verifyClient",
            "ingress-mtls/verify-depth@spec.ingressMTLS.verifyDepth", "ingress-mtls/crl-file-name@spec.ingressMTLS.crlFileName",
        ])
    }

    @Test func a254CharacterSecretNameIsTooLong() throws {
        let findings = PolicyRules.findings(try Fixture.policyView("{ingressMTLS: {clientCertSecret: \(Self.long254)}}"))
        #expect(findings.hits.contains("ingress-mtls/client-cert-secret@spec.ingressMTLS.clientCertSecret"))
    }

    @Test func malformedSpecIsOneFindingNotACrash() throws {
        let findings = PolicyRules.findings(try Fixture.policyView("[1, 2]"))
        #expect(findings.hits == ["policy/one-type@spec"])
    }
}
