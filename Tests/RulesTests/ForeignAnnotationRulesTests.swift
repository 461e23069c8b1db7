import Foundation
import KubeModel
import Testing
@testable import Rules

/// The ingress-nginx migration guard: ingress-mtls/foreign-client-auth and ingress/foreign-mtls-annotation.
@Suite struct ForeignAnnotationRulesTests {
    static let secretPath = "metadata.annotations[nginx.ingress.kubernetes.io/auth-tls-secret]"
    static let verifyPath = "metadata.annotations[nginx.ingress.kubernetes.io/auth-tls-verify-client]"
    static let depthPath = "metadata.annotations[nginx.ingress.kubernetes.io/auth-tls-verify-depth]"

    static func ingress(_ annotations: String, policies: String? = nil, ingressClass: String = "nginx") throws -> KubeObject {
        var all = [annotations]
        if let policies { all.append("nginx.org/policies: \"\(policies)\"") }
        return try Fixture.ingress(annotations: "{\(all.filter { !$0.isEmpty }.joined(separator: ", "))}", spec:
            "{ingressClassName: \(ingressClass), tls: [{hosts: [a.example.com], secretName: tls}], rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 443}}}}]}}]}")
    }

    @Test(arguments: [
        ("nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca", secretPath),
        ("nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca, nginx.ingress.kubernetes.io/auth-tls-verify-client: \"on\"", secretPath),
        ("nginx.ingress.kubernetes.io/auth-tls-verify-client: optional", verifyPath),
    ])
    func clientAuthWithoutPolicyIsDeniedWithoutState(annotations: String, field: String) throws {
        for state in [nil, try IngressRulesTests.state()] as [[KubeObject]?] {
            let findings = Fixture.evaluate(try Self.ingress(annotations), state: state).findings
            #expect(findings.with(rule: "ingress-mtls/foreign-client-auth").hits == ["ingress-mtls/foreign-client-auth@\(field)"], "\(findings)")
            #expect(findings.with(rule: "ingress-mtls/foreign-client-auth").allSatisfy { $0.severity == .deny })
            #expect(findings.with(rule: "ingress/foreign-mtls-annotation").isEmpty)
        }
    }

    @Test func clientAuthMessageGivesTheNICEquivalent() throws {
        let findings = Fixture.evaluate(try Self.ingress(
            "nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca, nginx.ingress.kubernetes.io/auth-tls-verify-client: optional, nginx.ingress.kubernetes.io/auth-tls-verify-depth: \"2\""),
            state: nil).findings
        let message = try #require(findings.with(rule: "ingress-mtls/foreign-client-auth").first?.message)
        for part in ["WITHOUT client certificate verification", "spec.ingressMTLS.clientCertSecret", "nginx.org/ca", "ca.crt",
                     "verifyClient: \"optional\"", "verifyDepth: 2", "nginx.org/policies", "spec.tls"] {
            #expect(message.contains(part), "\(part): \(message)")
        }
    }

    @Test func hugeValuesAreQuotedOnlyInPart() throws {
        let long = String(repeating: "x", count: 10_000)
        let findings = Fixture.evaluate(try Self.ingress(
            "nginx.ingress.kubernetes.io/auth-tls-secret: \(long), nginx.ingress.kubernetes.io/proxy-ssl-name: \(long)"), state: nil).findings
        #expect(findings.count == 2)
        #expect(findings.allSatisfy { $0.message.count < 1_000 })
    }

    @Test(arguments: ["nginx.ingress.kubernetes.io/auth-tls-verify-client: \"off\"", ""])
    func noClientAuthAskedIsQuiet(_ annotations: String) throws {
        #expect(Fixture.evaluate(try Self.ingress(annotations), state: nil).findings.isEmpty)
    }

    @Test func policyOfAnotherKindDoesNotCoverClientAuth() throws {
        let findings = Fixture.evaluate(try Self.ingress("nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca, nginx.org/ssl-services: web",
                                                         policies: "egress"), state: try IngressRulesTests.state()).findings
        #expect(findings.hits == ["ingress-mtls/foreign-client-auth@\(Self.secretPath)"])
    }

    @Test func withAnIngressMTLSPolicyEachAuthTLSAnnotationWarns() throws {
        let findings = Fixture.evaluate(try Self.ingress(
            "nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca, nginx.ingress.kubernetes.io/auth-tls-verify-depth: \"2\"", policies: "mtls"),
            state: try IngressRulesTests.state()).findings
        #expect(findings.hits == ["ingress/foreign-mtls-annotation@\(Self.secretPath)", "ingress/foreign-mtls-annotation@\(Self.depthPath)"])
        #expect(findings.allSatisfy { $0.severity == .warn })
        #expect(findings.with(rule: "ingress/foreign-mtls-annotation").contains { $0.message.contains("verifyDepth") })
    }

    @Test func aMissingPolicyLeavesClientAuthUndecided() throws {
        let findings = Fixture.evaluate(try Self.ingress("nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca", policies: "missing"),
                                        state: try IngressRulesTests.state()).findings
        #expect(findings.hits == ["ingress/policy-ref@metadata.annotations[nginx.org/policies]"])
    }

    @Test func withPoliciesButNoStateTheClientAuthRuleIsSkipped() throws {
        let evaluation = Fixture.evaluate(try Self.ingress("nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca", policies: "mtls"), state: nil)
        #expect(evaluation.findings.isEmpty)
        #expect(evaluation.skippedStateRules.contains("ingress-mtls/foreign-client-auth"))
    }

    @Test(arguments: [
        ("nginx.ingress.kubernetes.io/proxy-ssl-secret: ns/client", "proxy-ssl-secret", "tlsSecret"),
        ("nginx.ingress.kubernetes.io/proxy-ssl-verify: \"on\"", "proxy-ssl-verify", "verifyServer"),
        ("nginx.ingress.kubernetes.io/proxy-ssl-verify-depth: \"2\"", "proxy-ssl-verify-depth", "verifyDepth"),
        ("nginx.ingress.kubernetes.io/proxy-ssl-name: backend.example.com", "proxy-ssl-name", "sslName"),
        ("nginx.ingress.kubernetes.io/proxy-ssl-server-name: \"on\"", "proxy-ssl-server-name", "serverName"),
        ("nginx.ingress.kubernetes.io/proxy-ssl-protocols: TLSv1.3", "proxy-ssl-protocols", "protocols"),
        ("nginx.ingress.kubernetes.io/proxy-ssl-ciphers: HIGH", "proxy-ssl-ciphers", "ciphers"),
        ("nginx.ingress.kubernetes.io/backend-protocol: HTTPS", "backend-protocol", "nginx.org/ssl-services"),
        ("nginx.ingress.kubernetes.io/backend-protocol: GRPCS", "backend-protocol", "nginx.org/grpc-services"),
    ])
    func upstreamTLSAnnotationWarnsWithTheEquivalent(annotation: String, key: String, equivalent: String) throws {
        let findings = Fixture.evaluate(try Self.ingress(annotation), state: nil).findings
        #expect(findings.hits == ["ingress/foreign-mtls-annotation@metadata.annotations[nginx.ingress.kubernetes.io/\(key)]"])
        #expect(findings.first?.severity == .warn)
        #expect(findings.first?.message.contains(equivalent) == true, "\(findings)")
    }

    @Test func oneFindingPerAnnotation() throws {
        let findings = Fixture.evaluate(try Self.ingress(
            "nginx.ingress.kubernetes.io/proxy-ssl-secret: ns/client, nginx.ingress.kubernetes.io/proxy-ssl-verify: \"on\", nginx.ingress.kubernetes.io/proxy-ssl-name: b.example.com"),
            state: nil).findings
        #expect(findings.with(rule: "ingress/foreign-mtls-annotation").count == 3)
    }

    @Test(arguments: ["nginx.ingress.kubernetes.io/backend-protocol: HTTP", "nginx.ingress.kubernetes.io/rewrite-target: /"])
    func otherForeignAnnotationsAreQuiet(_ annotation: String) throws {
        #expect(Fixture.evaluate(try Self.ingress(annotation), state: nil).findings.isEmpty)
    }

    @Test func ingressesOfAnotherClassAreNotChecked() throws {
        let ingress = try Self.ingress("nginx.ingress.kubernetes.io/auth-tls-secret: ns/ca, nginx.ingress.kubernetes.io/proxy-ssl-verify: \"on\"",
                                       ingressClass: "ingress-nginx")
        #expect(Fixture.evaluate(ingress, state: nil).findings.isEmpty)
    }
}
