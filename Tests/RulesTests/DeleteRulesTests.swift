import Foundation
import KubeModel
import Testing
@testable import Rules

/// docs/rules.md section 8 and secret/in-use-delete, secret/in-use-update: DELETE judges oldObject, UPDATE object.
@Suite struct DeleteRulesTests {
    static func cluster() throws -> [KubeObject] {
        [
            try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls"),
            try Fixture.policy("{egressMTLS: {tlsSecret: egress-tls, trustedCertSecret: ca, verifyServer: true}}", name: "egress"),
            try Fixture.policy("{egressMTLS: {tlsSecret: tls}}", name: "unused"),
            try Fixture.ingress(name: "ing", policies: "mtls"),
            try Fixture.ingress(name: "other-class", annotations: "{nginx.org/policies: unused}", spec: "{ingressClassName: traefik}"),
            try VirtualServerRulesTests.virtualServer("{tls: {secret: vs-tls}, policies: [{name: mtls}]}"),
            try VirtualServerRulesTests.route("{upstreams: [{name: s, service: s, port: 443, tls: {enable: true}}], subroutes: [{path: /a, policies: [{name: egress}], action: {pass: s}}]}"),
            try Fixture.caSecret(), try Fixture.tlsSecret(), try Fixture.tlsSecret("egress-tls"), try Fixture.tlsSecret("vs-tls"),
            try Fixture.tlsSecret("plain-tls"),
        ]
    }

    static func find(_ kind: String, _ name: String) throws -> KubeObject {
        try #require(try cluster().first { $0.kind == kind && $0.name == name })
    }

    // MARK: policy/in-use-delete

    @Test func deletingAReferencedPolicyIsDenied() throws {
        let findings = Fixture.evaluate(try Self.find("Policy", "mtls"), .delete, state: try Self.cluster()).findings
        #expect(findings.hits == ["policy/in-use-delete@metadata.name"])
        let message = try #require(findings.first?.message)
        #expect(message.contains("Ingress ns/ing") && message.contains("VirtualServer ns/vs"))
    }

    @Test func deletingAPolicyUsedBySubroute() throws {
        let findings = Fixture.evaluate(try Self.find("Policy", "egress"), .delete, state: try Self.cluster()).findings
        #expect(findings.hits == ["policy/in-use-delete@metadata.name"])
        #expect(findings.first?.message.contains("VirtualServerRoute ns/vsr") == true)
    }

    @Test func deletingAPolicyOnlyOtherClassesUseIsAllowed() throws {
        #expect(Fixture.evaluate(try Self.find("Policy", "unused"), .delete, state: try Self.cluster()).findings.isEmpty)
    }

    @Test func deleteWithoutStateIsSkippedNotGuessed() throws {
        let evaluation = Fixture.evaluate(try Self.find("Policy", "mtls"), .delete, state: nil)
        #expect(evaluation.findings.isEmpty)
        #expect(evaluation.skippedStateRules == ["policy/in-use-delete"])
    }

    @Test func referrerListIsBounded() throws {
        let ingresses = try (0..<8).map { try Fixture.ingress(name: "i\($0)", policies: "mtls") }
        let state = try Self.cluster() + ingresses
        let message = try #require(Fixture.evaluate(try Self.find("Policy", "mtls"), .delete, state: state).findings.first?.message)
        #expect(message.contains("and 5 more"))
    }

    // MARK: policy/in-use-update

    @Test func updateThatBreaksAReferrer() throws {
        // "unused" becomes ingressMTLS while an Ingress without TLS and a VSR subroute reference it.
        let old = try Fixture.policy("{egressMTLS: {tlsSecret: tls}}", name: "shared")
        let new = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "shared")
        let state = try Self.cluster() + [
            old,
            try Fixture.ingress(name: "plain", policies: "shared", tls: false, extraAnnotations: "nginx.org/ssl-services: web"),
            try VirtualServerRulesTests.route("{subroutes: [{path: /x, policies: [{name: shared}]}]}"),
        ]
        let findings = Fixture.evaluate(new, .update, old: old, state: state).findings
        #expect(findings.hits == ["policy/in-use-update@spec"])
        let message = try #require(findings.first?.message)
        #expect(message.contains("Ingress ns/plain (ingress-mtls/tls-required)"))
        #expect(message.contains("VirtualServerRoute ns/vsr (ingress-mtls/route-scope)"))
    }

    @Test func updateThatMakesThePolicyInvalidBreaksReferrers() throws {
        let old = try Self.find("Policy", "mtls")
        let new = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca, verifyClient: maybe}}", name: "mtls")
        let findings = Fixture.evaluate(new, .update, old: old, state: try Self.cluster()).findings
        #expect(findings.hits.contains("policy/in-use-update@spec"))
        #expect(findings.hits.contains("ingress-mtls/verify-client@spec.ingressMTLS.verifyClient"))
    }

    @Test func compatibleUpdateIsAllowed() throws {
        let old = try Self.find("Policy", "mtls")
        let new = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca, verifyDepth: 2}}", name: "mtls")
        #expect(Fixture.evaluate(new, .update, old: old, state: try Self.cluster()).findings.with(rule: "policy/in-use-update").isEmpty)
    }

    // MARK: secret/in-use-delete

    @Test(arguments: [
        ("ca", "Policy ns/mtls (clientCertSecret)"),
        ("egress-tls", "Policy ns/egress (tlsSecret)"),
        ("tls", "Ingress ns/ing"),
        ("vs-tls", "VirtualServer ns/vs"),
    ])
    func deletingASecretInUseIsDenied(name: String, referrer: String) throws {
        let secret = try #require(try Self.cluster().first { $0.kind == "Secret" && $0.name == name })
        let findings = Fixture.evaluate(secret, .delete, state: try Self.cluster()).findings
        #expect(findings.hits == ["secret/in-use-delete@metadata.name"])
        #expect(findings.first?.message.contains(referrer) == true, "\(findings)")
    }

    @Test func deletingAnUnusedSecretIsAllowed() throws {
        let secret = try #require(try Self.cluster().first { $0.kind == "Secret" && $0.name == "plain-tls" })
        #expect(Fixture.evaluate(secret, .delete, state: try Self.cluster()).findings.isEmpty)
    }

    /// NIC cannot use a Secret of another type (it serves 500 there already, and a Secret's type is
    /// immutable): deleting or updating it takes nothing away, so neither is denied.
    @Test func secretOfAnotherTypeNamedByAPolicyIsNotInUse() throws {
        let opaque = try Fixture.secret("ca", type: "Opaque", data: ["ca.crt": "x"])
        var state = try Self.cluster().filter { !($0.kind == "Secret" && $0.name == "ca") }
        state.append(opaque)
        #expect(Fixture.evaluate(opaque, .delete, state: state).findings.with(rule: "secret/in-use-delete").isEmpty)
        let changed = try Fixture.secret("ca", type: "Opaque", data: ["ca.crt": "y"])
        #expect(Fixture.evaluate(changed, .update, old: opaque, state: state).findings.with(rule: "secret/in-use-update").isEmpty)
        // The same name with the type the Policy needs is in use.
        #expect(Fixture.evaluate(try Fixture.caSecret(), .delete, state: try Self.cluster()).findings.hits == ["secret/in-use-delete@metadata.name"])
    }

    @Test func tlsSecretOfIngressWithoutIngressMTLSIsNotInUse() throws {
        let state = [try Fixture.ingress(name: "plain", policies: nil), try Fixture.tlsSecret()]
        #expect(Fixture.evaluate(try Fixture.tlsSecret(), .delete, state: state).findings.isEmpty)
    }

    // MARK: secret/in-use-update

    @Test func updatingACASecretInUseToGarbageIsDenied() throws {
        let old = try Fixture.caSecret()
        let new = try Fixture.secret("ca", type: "nginx.org/ca", data: ["ca.crt": "garbage"])
        let findings = Fixture.evaluate(new, .update, old: old, state: try Self.cluster()).findings
        #expect(findings.with(rule: "secret/in-use-update").count == 1)
        #expect(findings.with(rule: "secret/in-use-update").first?.severity == .deny)
        #expect(findings.with(rule: "secret/in-use-update").first?.message.contains("Policy ns/mtls") == true)
    }

    @Test func changingTheTypeOfASecretInUseIsDenied() throws {
        let new = try Fixture.secret("tls", type: "Opaque", data: ["a": "b"])
        let findings = Fixture.evaluate(new, .update, old: try Fixture.tlsSecret(), state: try Self.cluster()).findings
        #expect(findings.hits == ["secret/in-use-update@type"])
    }

    @Test func validUpdateOfASecretInUseIsAllowed() throws {
        let findings = Fixture.evaluate(try Fixture.caSecret(), .update, old: try Fixture.caSecret(), state: try Self.cluster()).findings
        #expect(findings.with(rule: "secret/in-use-update").isEmpty)
    }

    @Test func brokenUnusedSecretOnlyGetsContentFindings() throws {
        let new = try Fixture.secret("plain-tls", type: "kubernetes.io/tls", data: ["tls.crt": "x"])
        let findings = Fixture.evaluate(new, .update, old: try Fixture.tlsSecret("plain-tls"), state: try Self.cluster()).findings
        #expect(findings.with(rule: "secret/in-use-update").isEmpty)
        #expect(!findings.with(rule: "secret/tls").isEmpty)
    }
}
