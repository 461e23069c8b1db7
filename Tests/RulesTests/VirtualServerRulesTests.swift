import Foundation
import KubeModel
import Testing
@testable import Rules

/// docs/rules.md section 5.
@Suite struct VirtualServerRulesTests {
    static func virtualServer(_ spec: String, name: String = "vs") throws -> KubeObject {
        try Fixture.object("apiVersion: k8s.nginx.org/v1\nkind: VirtualServer\nmetadata: {name: \(name), namespace: ns}\nspec: \(spec)\n")
    }

    static func route(_ spec: String) throws -> KubeObject {
        try Fixture.object("apiVersion: k8s.nginx.org/v1\nkind: VirtualServerRoute\nmetadata: {name: vsr, namespace: ns}\nspec: \(spec)\n")
    }

    static let upstreams = "upstreams: [{name: web, service: web, port: 80}, {name: secure, service: web, port: 443, tls: {enable: true}}, {name: grpc, service: g, port: 50051, type: grpc}]"

    @Test(arguments: [
        ("{policies: [{name: Bad_Name}]}", "spec.policies[0].name"),
        ("{policies: [{namespace: ns}]}", "spec.policies[0].name"),
        ("{policies: [{name: p, namespace: a.b}]}", "spec.policies[0].namespace"),
        ("{policies: [{name: p}, {name: p, namespace: ns}]}", "spec.policies[1]"),
        ("{policies: [{name: 3}]}", "spec.policies[0].name"),
        ("{policies: p}", "spec.policies"),
        ("{routes: [{path: /, policies: [{name: \"x/y\"}]}]}", "spec.routes[0].policies[0].name"),
    ])
    func policyRefFormatFires(spec: String, field: String) throws {
        let findings = VirtualServerRules.findings(VirtualServerView(try Self.virtualServer(spec)))
        #expect(findings.hits.contains("vs/policy-ref-format@\(field)"), "\(findings)")
    }

    @Test func subroutePolicyFormat() throws {
        let findings = VirtualServerRules.findings(VirtualServerRouteView(try Self.route("{subroutes: [{path: /a, policies: [{name: ok}, {name: ok}]}]}")))
        #expect(findings.hits == ["vs/policy-ref-format@spec.subroutes[0].policies[1]"])
    }

    @Test(arguments: [
        "{policies: [{name: p}, {name: p, namespace: other}]}",
        "{policies: [{name: p.q-1, namespace: team-a}], routes: [{path: /, policies: [{name: p.q-1, namespace: team-a}]}]}",
        "{}",
    ])
    func policyRefFormatQuiet(spec: String) throws {
        #expect(VirtualServerRules.findings(VirtualServerView(try Self.virtualServer(spec))).isEmpty)
    }

    static func state() throws -> [KubeObject] {
        [
            try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls"),
            try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls2"),
            try Fixture.policy("{egressMTLS: {tlsSecret: tls}}", name: "egress"),
            try Fixture.policy("{egressMTLS: {tlsSecret: tls}}", name: "egress2"),
            try Fixture.policy("{}", name: "broken"),
            try Fixture.tlsSecret(), try Fixture.caSecret(),
        ]
    }

    /// (spec, rule, field, severity)
    static let referenceFiring: [(String, String, String, Severity)] = [
        ("{tls: {secret: tls}, policies: [{name: missing}]}", "vs/policy-ref", "spec.policies[0]", .warn),
        ("{tls: {secret: tls}, policies: [{name: broken}]}", "vs/policy-ref", "spec.policies[0]", .deny),
        ("{tls: {secret: tls}, \(upstreams), routes: [{path: /, policies: [{name: mtls}], action: {pass: secure}}]}", "ingress-mtls/route-scope", "spec.routes[0].policies[0]", .deny),
        ("{policies: [{name: mtls}]}", "ingress-mtls/vs-tls-required", "spec.tls.secret", .deny),
        ("{tls: {secret: missing}, policies: [{name: mtls}]}", "ingress-mtls/vs-tls-secret", "spec.tls.secret", .warn),
        ("{tls: {secret: ca}, policies: [{name: mtls}]}", "ingress-mtls/vs-tls-secret", "spec.tls.secret", .deny),
        ("{tls: {secret: tls}, policies: [{name: mtls}, {name: mtls2}]}", "ingress-mtls/multiple", "spec.policies[1]", .warn),
        ("{\(upstreams), routes: [{path: /, policies: [{name: egress}, {name: egress2}], action: {pass: secure}}]}", "egress-mtls/multiple", "spec.routes[0].policies[1]", .warn),
        ("{\(upstreams), routes: [{path: /, policies: [{name: egress}], action: {pass: web}}]}", "egress-mtls/vs-upstream-tls", "spec.routes[0].action.pass", .warn),
        ("{\(upstreams), policies: [{name: egress}], routes: [{path: /, action: {proxy: {upstream: web}}}]}", "egress-mtls/vs-upstream-tls", "spec.routes[0].action.proxy.upstream", .warn),
        ("{\(upstreams), policies: [{name: egress}], routes: [{path: /, action: {pass: secure}}]}", "egress-mtls/grpc-server-scope", "spec.policies[0]", .warn),
    ]

    @Test(arguments: referenceFiring)
    func referenceRuleFires(spec: String, rule: String, field: String, severity: Severity) throws {
        let findings = Fixture.evaluate(try Self.virtualServer(spec), state: try Self.state()).findings
        let matching = findings.filter { "\($0.rule)@\($0.field)" == "\(rule)@\(field)" }
        #expect(matching.map(\.severity) == [severity], "\(findings)")
    }

    @Test(arguments: [
        "{tls: {secret: tls}, policies: [{name: mtls}], upstreams: [{name: web, service: web, port: 80}], routes: [{path: /, action: {pass: web}}]}",
        "{upstreams: [{name: secure, service: w, port: 443, tls: {enable: true}}], routes: [{path: /, policies: [{name: egress}], action: {pass: secure}}]}",
        "{upstreams: [{name: grpc, service: g, port: 1, type: grpc, tls: {enable: true}}], routes: [{path: /, policies: [{name: egress}], action: {pass: grpc}}]}",
    ])
    func correctVirtualServersAreQuiet(spec: String) throws {
        #expect(Fixture.evaluate(try Self.virtualServer(spec), state: try Self.state()).findings.isEmpty)
    }

    /// generateSSLConfig: `tls: {}` (or `secret: ""`) is served with -wildcard-tls-secret; no `tls` never is.
    @Test(arguments: [("{tls: {}, policies: [{name: mtls}]}", true), ("{tls: {secret: \"\"}, policies: [{name: mtls}]}", true),
                      ("{policies: [{name: mtls}]}", false)])
    func wildcardTLS(spec: String, servedWithWildcard: Bool) throws {
        let vs = try Self.virtualServer(spec)
        let without = Fixture.evaluate(vs, state: try Self.state()).findings
        #expect(without.hits == ["ingress-mtls/vs-tls-required@spec.tls.secret"])
        #expect(without.first?.message.contains("--nic-wildcard-tls") == true)
        var settings = Fixture.settings
        settings.nicWildcardTLS = true
        let with = Fixture.evaluate(vs, state: try Self.state(), settings: settings).findings
        #expect(with.hits == (servedWithWildcard ? [] : ["ingress-mtls/vs-tls-required@spec.tls.secret"]))
    }

    @Test(arguments: [("other", true), ("nginx", false)])
    func policyOfAnotherClass(policyClass: String, fires: Bool) throws {
        let policy = try Fixture.policy("{ingressClassName: \(policyClass), ingressMTLS: {clientCertSecret: ca}}", name: "classy")
        let findings = Fixture.evaluate(try Self.virtualServer("{tls: {secret: tls}, policies: [{name: classy}]}"),
                                        state: try Self.state() + [policy]).findings
        #expect(findings.hits == (fires ? ["vs/policy-ref@spec.policies[0]"] : []))
    }

    @Test func subrouteRules() throws {
        let vsr = try Self.route("{\(Self.upstreams), subroutes: [{path: /a, policies: [{name: mtls}], action: {pass: secure}}, {path: /b, policies: [{name: egress}], action: {pass: web}}, {path: /c, policies: [{name: nope}]}]}")
        let findings = Fixture.evaluate(vsr, state: try Self.state()).findings
        #expect(findings.hits == [
            "ingress-mtls/route-scope@spec.subroutes[0].policies[0]", "egress-mtls/vs-upstream-tls@spec.subroutes[1].action.pass",
            "vs/policy-ref@spec.subroutes[2].policies[0]",
        ])
    }
}

@Suite struct IngressClassScopeTests {
    @Test(arguments: [("ingressClassName: other, ", true), ("ingressClassName: nginx, ", false), ("", false)])
    func virtualServersOfOtherClassesAreNotChecked(classPart: String, skipped: Bool) throws {
        let vs = try VirtualServerRulesTests.virtualServer("{\(classPart)policies: [{name: Bad_Name}]}")
        #expect(Fixture.evaluate(vs, state: []).findings.isEmpty == skipped)
    }

    @Test func policyDeleteIgnoresReferrersOfOtherClasses() throws {
        let policy = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls")
        let vs = try VirtualServerRulesTests.virtualServer("{ingressClassName: other, tls: {secret: tls}, policies: [{name: mtls}]}")
        #expect(Fixture.evaluate(policy, .delete, state: [policy, vs]).findings.isEmpty)
    }
}
