import Foundation
import KubeModel
import Testing
@testable import Rules

/// RULES.md §4 and §9.
@Suite struct IngressRulesTests {
    static let policiesPath = "metadata.annotations[nginx.org/policies]"

    @Test(arguments: ["a", "ns/pol", "ns.test/pol.x", "p1, p2 , ns/p3", "p1,\tp2", "p1,\np2", " p1 "])
    func validPolicyAnnotation(_ value: String) {
        #expect(PolicyAnnotation.parse(value).allSatisfy { $0.problem == nil }, "\(value)")
    }

    @Test(arguments: ["", "p1,,p2", "p1,", "/pol", "ns/", "ns/a/b", "Pol", "ns/Pol", "p_1", "NS/p", String(repeating: "a", count: 254)])
    func invalidPolicyAnnotation(_ value: String) throws {
        let ingress = IngressView(try Fixture.ingress(policies: value.replacingOccurrences(of: "\n", with: "\\n")))
        let findings = IngressRules.findings(ingress)
        #expect(findings.hits == ["ingress/policies-annotation@\(Self.policiesPath)"], "\(value): \(findings)")
    }

    @Test func nginxComPoliciesIsCheckedToo() throws {
        let ingress = IngressView(try Fixture.ingress(policies: nil, extraAnnotations: "nginx.com/policies: \"a,,b\""))
        #expect(IngressRules.findings(ingress).hits == ["ingress/policies-annotation@metadata.annotations[nginx.com/policies]"])
    }

    @Test func everyBadItemIsReported() throws {
        let findings = IngressRules.findings(IngressView(try Fixture.ingress(policies: "A,,/x")))
        #expect(findings.count == 3)
    }

    /// (extra annotations, rule, field) – annotation rules that fire.
    static let annotationFiring: [(String, String, String)] = [
        ("nginx.org/ssl-services: missing", "ingress/ssl-services", "metadata.annotations[nginx.org/ssl-services]"),
        ("nginx.org/ssl-services: \"\"", "ingress/ssl-services", "metadata.annotations[nginx.org/ssl-services]"),
        ("nginx.org/ssl-services: \"web,\"", "ingress/ssl-services", "metadata.annotations[nginx.org/ssl-services]"),
        ("nginx.org/grpc-services: \"web, grpc-svc\"", "ingress/grpc-services", "metadata.annotations[nginx.org/grpc-services]"),
        ("nginx.org/grpc-services: 1", "ingress/grpc-services", "metadata.annotations[nginx.org/grpc-services]"),
        ("nginx.org/mergeable-ingress-type: primary", "ingress/mergeable-type", "metadata.annotations[nginx.org/mergeable-ingress-type]"),
        ("nginx.org/mergeable-ingress-type: master", "ingress/mergeable-type", "spec.rules[0].http"),
        ("nginx.org/mergeable-ingress-type: minion", "ingress/mergeable-type", "spec.tls"),
    ]

    @Test(arguments: annotationFiring)
    func annotationRuleFires(annotations: String, rule: String, field: String) throws {
        let findings = IngressRules.findings(IngressView(try Fixture.ingress(policies: nil, extraAnnotations: annotations)))
        #expect(findings.hits.contains("\(rule)@\(field)"), "\(findings)")
    }

    @Test(arguments: ["nginx.org/ssl-services: web", "nginx.org/grpc-services: \" web \"", "nginx.org/ssl-services: \"web,web\""])
    func knownServicesAreQuiet(_ annotations: String) throws {
        #expect(IngressRules.findings(IngressView(try Fixture.ingress(policies: nil, extraAnnotations: annotations))).isEmpty)
    }

    @Test func defaultBackendCountsAsBackend() throws {
        let ingress = IngressView(try Fixture.ingress(annotations: "{nginx.org/ssl-services: default-svc}",
            spec: "{defaultBackend: {service: {name: default-svc, port: {number: 80}}}}"))
        #expect(IngressRules.findings(ingress).isEmpty)
    }

    @Test func mergeableShapes() throws {
        let master = IngressView(try Fixture.ingress(annotations: "{nginx.org/mergeable-ingress-type: master}",
            spec: "{tls: [{hosts: [a.example.com], secretName: tls}], rules: [{host: a.example.com}]}"))
        #expect(IngressRules.findings(master).isEmpty)
        let twoRuleMaster = IngressView(try Fixture.ingress(annotations: "{nginx.org/mergeable-ingress-type: master}",
            spec: "{rules: [{host: a.example.com}, {host: b.example.com}]}"))
        #expect(IngressRules.findings(twoRuleMaster).hits == ["ingress/mergeable-type@spec.rules"])
        let minion = IngressView(try Fixture.ingress(policies: nil, tls: false, extraAnnotations: "nginx.org/mergeable-ingress-type: minion"))
        #expect(IngressRules.findings(minion).isEmpty)
        let pathlessMinion = IngressView(try Fixture.ingress(annotations: "{nginx.org/mergeable-ingress-type: minion}",
            spec: "{rules: [{host: a.example.com}]}"))
        #expect(IngressRules.findings(pathlessMinion).hits == ["ingress/mergeable-type@spec.rules[0].http.paths"])
    }

    // MARK: Reference rules

    static func state(_ extra: [KubeObject] = []) throws -> [KubeObject] {
        [
            try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls"),
            try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls2"),
            try Fixture.policy("{egressMTLS: {tlsSecret: tls}}", name: "egress"),
            try Fixture.policy("{egressMTLS: {tlsSecret: tls}}", name: "egress2"),
            try Fixture.policy("{rateLimit: {rate: 1r/s}}", name: "ratelimit"),
            try Fixture.policy("{ingressMTLS: {verifyClient: maybe}}", name: "broken"),
            try Fixture.caSecret(), try Fixture.tlsSecret(),
            try Fixture.secret("opaque", type: "Opaque", data: ["x": "y"]),
        ] + extra
    }

    static func referenceFindings(_ ingress: KubeObject, strict: Bool = false) throws -> [Finding] {
        var settings = Fixture.settings
        settings.strictReferences = strict
        return Fixture.evaluate(ingress, state: try state(), settings: settings).findings
    }

    @Test(arguments: [
        ("missing", "ingress/policy-ref", Self.policiesPath, Severity.warn),
        ("broken", "ingress/policy-ref", Self.policiesPath, .deny),
        ("ratelimit", "ingress/policy-kind", Self.policiesPath, .deny),
        ("mtls, mtls2", "ingress-mtls/multiple", Self.policiesPath, .warn),
        ("egress, egress2", "egress-mtls/multiple", Self.policiesPath, .warn),
        ("egress", "egress-mtls/upstream-tls", "spec.rules[0].http.paths[0].backend.service.name", .warn),
    ])
    func referenceRuleFires(policies: String, rule: String, field: String, severity: Severity) throws {
        let findings = try Self.referenceFindings(try Fixture.ingress(policies: policies))
        let matching = findings.filter { "\($0.rule)@\($0.field)" == "\(rule)@\(field)" }
        #expect(matching.map(\.severity) == [severity], "\(findings)")
    }

    @Test func missingPolicyDeniesUnderStrictReferences() throws {
        let findings = try Self.referenceFindings(try Fixture.ingress(policies: "missing"), strict: true)
        #expect(findings.denies.hits == ["ingress/policy-ref@\(Self.policiesPath)"])
        #expect(findings[0].message.contains("500"))
    }

    @Test func policyInAnotherNamespace() throws {
        let other = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "shared", namespace: "other")
        let findings = Fixture.evaluate(try Fixture.ingress(policies: "other/shared"), state: try Self.state([other])).findings
        #expect(findings.with(rule: "ingress/policy-ref").isEmpty)
    }

    @Test func ingressMTLSWithoutTLS() throws {
        let findings = try Self.referenceFindings(try Fixture.ingress(policies: "mtls", tls: false))
        #expect(findings.hits == ["ingress-mtls/tls-required@spec.tls"])
    }

    @Test func hostWithoutTLSFailsOpen() throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}", spec: """
            {tls: [{hosts: [a.example.com, "*.wild.example.com"], secretName: tls}], rules: [{host: a.example.com}, {host: b.example.com}, {host: x.wild.example.com}, {host: y.x.wild.example.com}]}
            """)
        #expect(try Self.referenceFindings(ingress).hits == [
            "ingress-mtls/host-without-tls@spec.rules[1].host", "ingress-mtls/host-without-tls@spec.rules[3].host",
        ])
    }

    @Test(arguments: [("missing-tls", Severity.warn), ("opaque", .deny), ("ca", .deny)])
    func tlsSecretOfProtectedHost(secretName: String, severity: Severity) throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}",
            spec: "{tls: [{hosts: [a.example.com], secretName: \(secretName)}], rules: [{host: a.example.com}]}")
        let findings = try Self.referenceFindings(ingress)
        #expect(findings.hits == ["ingress-mtls/tls-secret@spec.tls[0].secretName"])
        #expect(findings.first?.severity == severity)
    }

    @Test func minionWithIngressMTLS() throws {
        let minion = try Fixture.ingress(policies: "mtls", tls: false, extraAnnotations: "nginx.org/mergeable-ingress-type: minion")
        #expect(try Self.referenceFindings(minion).hits == ["ingress-mtls/minion@\(Self.policiesPath)"])
    }

    @Test func egressOnMaster() throws {
        let master = try Fixture.ingress(annotations: "{nginx.org/policies: egress, nginx.org/mergeable-ingress-type: master}",
            spec: "{rules: [{host: a.example.com}]}")
        #expect(try Self.referenceFindings(master).hits == ["egress-mtls/master@\(Self.policiesPath)"])
    }

    @Test(arguments: ["nginx.org/ssl-services: web", "nginx.org/grpc-services: web"])
    func egressWithTLSUpstreamIsQuiet(_ annotations: String) throws {
        #expect(try Self.referenceFindings(try Fixture.ingress(policies: "egress", extraAnnotations: annotations)).isEmpty)
    }

    @Test func correctIngressMTLSIsQuiet() throws {
        #expect(try Self.referenceFindings(try Fixture.ingress(policies: "mtls")).isEmpty)
    }

    @Test(arguments: [("ingressClassName: other, ", true), ("", false)])
    func otherClassesAreNotChecked(classPart: String, skipped: Bool) throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: \"a,,b\"}", spec: "{\(classPart)rules: [{host: a.example.com}]}")
        #expect(Fixture.evaluate(ingress, state: []).findings.isEmpty == skipped)
    }

    @Test func legacyClassAnnotation() throws {
        let ingress = try Fixture.ingress(annotations: "{kubernetes.io/ingress.class: traefik, nginx.org/policies: \"a,,b\"}", spec: "{}")
        #expect(Fixture.evaluate(ingress, state: []).findings.isEmpty)
        var settings = Fixture.settings
        settings.ingressClasses = ["traefik"]
        #expect(!Fixture.evaluate(ingress, state: [], settings: settings).findings.isEmpty)
    }
}
