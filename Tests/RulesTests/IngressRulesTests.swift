import Foundation
import KubeModel
import Testing
@testable import Rules

/// docs/rules.md section 4 and "Never checked".
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

    @Test(arguments: ["nginx.org/ssl-services: web", "nginx.org/grpc-services: web", "nginx.org/ssl-services: \"web,web\""])
    func knownServicesAreQuiet(_ annotations: String) throws {
        #expect(IngressRules.findings(IngressView(try Fixture.ingress(policies: nil, extraAnnotations: annotations))).isEmpty)
    }

    /// NIC's `ParseServiceList` does not trim: ` coffee-svc` is no backend and NIC rejects the Ingress.
    @Test(arguments: [("nginx.org/ssl-services", "ingress/ssl-services"), ("nginx.org/grpc-services", "ingress/grpc-services")])
    func untrimmedServiceNamesAreNotBackends(key: String, rule: String) throws {
        let spec = "{rules: [{host: a.example.com, http: {paths: [{path: /t, pathType: Prefix, backend: {service: {name: tea-svc, port: {number: 80}}}}, {path: /c, pathType: Prefix, backend: {service: {name: coffee-svc, port: {number: 80}}}}]}}]}"
        let spaced = IngressRules.findings(IngressView(try Fixture.ingress(annotations: "{\(key): \"tea-svc, coffee-svc\"}", spec: spec)))
        #expect(spaced.hits == ["\(rule)@metadata.annotations[\(key)]"])
        #expect(spaced.first?.message.contains("\" coffee-svc\"") == true)
        #expect(spaced.first?.message.contains("remove the spaces") == true)
        #expect(IngressRules.findings(IngressView(try Fixture.ingress(annotations: "{\(key): \"tea-svc,coffee-svc\"}", spec: spec))).isEmpty)
        #expect(IngressRules.findings(IngressView(try Fixture.ingress(annotations: "{\(key): \" tea-svc\"}", spec: spec))).hits
            == ["\(rule)@metadata.annotations[\(key)]"])
    }

    @Test(arguments: ["nginx.org/ssl-services", "nginx.org/grpc-services"])
    func serviceListOnAMasterIsAViolation(_ key: String) throws {
        let master = IngressView(try Fixture.ingress(annotations: "{nginx.org/mergeable-ingress-type: master, \(key): web}",
            spec: "{defaultBackend: {service: {name: web, port: {number: 80}}}, rules: [{host: a.example.com}]}"))
        let findings = IngressRules.findings(master)
        let rule = key == "nginx.org/ssl-services" ? "ingress/ssl-services" : "ingress/grpc-services"
        #expect(findings.hits == ["\(rule)@metadata.annotations[\(key)]"])
        #expect(findings.first?.message.contains("minions") == true)
    }

    @Test func longServiceListMessageIsBounded() throws {
        let value = (0..<200).map { "svc-\($0)-" + String(repeating: "x", count: 200) }.joined(separator: ",")
        let findings = IngressRules.findings(IngressView(try Fixture.ingress(policies: nil, extraAnnotations: "nginx.org/ssl-services: \"\(value)\"")))
        #expect(findings.hits == ["ingress/ssl-services@metadata.annotations[nginx.org/ssl-services]"])
        #expect((findings.first?.message.count ?? .max) < 1_000)
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
        // NIC's validateMinionSpec checks len(spec.TLS) > 0: an empty list is fine.
        let emptyTLSMinion = IngressView(try Fixture.ingress(annotations: "{nginx.org/mergeable-ingress-type: minion}",
            spec: "{tls: [], rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}"))
        #expect(IngressRules.findings(emptyTLSMinion).isEmpty)
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
            {tls: [{hosts: [a.example.com, "*.wild.example.com"], secretName: tls}], rules: [{host: a.example.com}, {host: b.example.com}, {host: x.wild.example.com}, {host: y.x.wild.example.com}, {host: "*.wild.example.com"}]}
            """)
        #expect(try Self.referenceFindings(ingress).hits == [
            "ingress-mtls/host-without-tls@spec.rules[1].host", "ingress-mtls/host-without-tls@spec.rules[2].host",
            "ingress-mtls/host-without-tls@spec.rules[3].host",
        ])
    }

    /// NIC's `addSSLConfig` compares by string equality: a wildcard TLS entry does not cover a concrete host.
    @Test func wildcardTLSEntryDoesNotCoverCafe() throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}",
            spec: "{tls: [{hosts: [\"*.example.com\"], secretName: tls}], rules: [{host: cafe.example.com}]}")
        let findings = try Self.referenceFindings(ingress)
        #expect(findings.hits == ["ingress-mtls/host-without-tls@spec.rules[0].host"])
        let message = try #require(findings.first?.message)
        #expect(message.contains("exact string") && message.contains("\"*.example.com\"") && message.contains("spec.tls[0].hosts"))
    }

    @Test func tlsEntryWithoutHostsCoversNothing() throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}",
            spec: "{tls: [{secretName: tls}], rules: [{host: a.example.com}]}")
        let findings = try Self.referenceFindings(ingress)
        #expect(findings.hits == ["ingress-mtls/host-without-tls@spec.rules[0].host"])
        #expect(findings.first?.message.contains("has no hosts") == true)
    }

    /// `tlsFindings` scans small `spec.tls` lists and indexes large ones (more than
    /// `IngressRules.scannedPairs` rule x TLS host pairs): both read coverage as NIC does. Rule `i`
    /// names host `h<i>`; entry 0 lists the even hosts with Secret `tls`, entry 1 (later, so it wins)
    /// those divisible by 4 with Secret `opaque` (no TLS Secret); odd hosts are listed nowhere.
    @Test(arguments: [6, 40])
    func tlsCoverageIsReadAlikeScannedOrIndexed(rules: Int) throws {
        let hosts = (0..<rules).map { "h\($0).example.com" }
        let even = hosts.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let byFour = hosts.enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        let spec = "{tls: [{hosts: [\(even.joined(separator: ", "))], secretName: tls}, "
            + "{hosts: [\(byFour.joined(separator: ", "))], secretName: opaque}], "
            + "rules: [\(hosts.map { "{host: \($0)}" }.joined(separator: ", "))]}"
        #expect((rules * (even.count + byFour.count) > IngressRules.scannedPairs) == (rules == 40))
        let findings = try Self.referenceFindings(try Fixture.ingress(annotations: "{nginx.org/policies: mtls}", spec: spec))
        var expected = Set((0..<rules).filter { $0 % 2 == 1 }.map { "ingress-mtls/host-without-tls@spec.rules[\($0)].host" })
        expected.insert("ingress-mtls/tls-secret@spec.tls[1].secretName")
        #expect(findings.hits == expected)
    }

    /// NIC keeps the secretName of the last entry listing the host.
    @Test func lastTLSEntryListingTheHostServesIt() throws {
        func findings(_ first: String, _ second: String) throws -> [Finding] {
            try Self.referenceFindings(try Fixture.ingress(annotations: "{nginx.org/policies: mtls}",
                spec: "{tls: [{hosts: [a.example.com], secretName: \(first)}, {hosts: [a.example.com], secretName: \(second)}], rules: [{host: a.example.com}]}"))
        }
        #expect(try findings("opaque", "tls").isEmpty)
        #expect(try findings("tls", "opaque").hits == ["ingress-mtls/tls-secret@spec.tls[1].secretName"])
    }

    /// NIC with -wildcard-tls-secret serves an entry without secretName with the wildcard certificate.
    @Test(arguments: ["{hosts: [a.example.com]}", "{hosts: [a.example.com], secretName: \"\"}"])
    func tlsEntryWithoutSecretNeedsTheWildcardSetting(_ entry: String) throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}", spec: "{tls: [\(entry)], rules: [{host: a.example.com}]}")
        let without = try Self.referenceFindings(ingress)
        #expect(without.denies.hits == ["ingress-mtls/tls-secret@spec.tls[0].secretName"])
        #expect(without.first?.message.contains("--nic-wildcard-tls") == true)
        var settings = Fixture.settings
        settings.nicWildcardTLS = true
        #expect(Fixture.evaluate(ingress, state: try Self.state(), settings: settings).findings.isEmpty)
    }

    /// getIngressPolicyRefs: both annotations merged, de-duplicated by namespace/name.
    @Test(arguments: [
        "{nginx.org/policies: \"mtls, ns/mtls\"}",
        "{nginx.org/policies: mtls, nginx.com/policies: ns/mtls}",
        "{nginx.org/policies: \"mtls,mtls\"}",
    ])
    func duplicatePolicyReferenceIsOneReference(_ annotations: String) throws {
        let ingress = try Fixture.ingress(annotations: annotations, spec:
            "{tls: [{hosts: [a.example.com], secretName: tls}], rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}")
        #expect(IngressRules.findings(IngressView(ingress)).isEmpty)
        #expect(try Self.referenceFindings(ingress).isEmpty)
    }

    @Test func duplicateEgressReferenceIsNoMultipleWarning() throws {
        let findings = try Self.referenceFindings(try Fixture.ingress(policies: "egress, ns/egress", extraAnnotations: "nginx.org/ssl-services: web"))
        #expect(findings.with(rule: "egress-mtls/multiple").isEmpty)
        #expect(findings.isEmpty)
    }

    @Test func cachePolicyIsNotSupportedOnIngress() throws {
        let cache = try Fixture.policy("{cache: {cacheZoneName: z, cacheZoneSize: 10m}}", name: "cache")
        let findings = Fixture.evaluate(try Fixture.ingress(policies: "cache"), state: try Self.state([cache])).findings
        #expect(findings.hits == ["ingress/policy-kind@\(Self.policiesPath)"])
        #expect(findings.first?.message.contains("cache") == true)
    }

    /// filterIngressPolicyRefs: a waf Policy only through nginx.com/policies.
    @Test func wafPolicyOnlyThroughNginxComPolicies() throws {
        let waf = try Fixture.policy("{waf: {enable: true}}", name: "waf")
        let viaOrg = Fixture.evaluate(try Fixture.ingress(policies: "waf"), state: try Self.state([waf])).findings
        #expect(viaOrg.hits == ["ingress/policy-kind@\(Self.policiesPath)"])
        let viaCom = Fixture.evaluate(try Fixture.ingress(policies: nil, extraAnnotations: "nginx.com/policies: waf"),
                                      state: try Self.state([waf])).findings
        #expect(viaCom.with(rule: "ingress/policy-kind").isEmpty)
    }

    /// HasCorrectIngressClass: NIC drops a Policy of another class; an empty class is no class.
    @Test(arguments: [("other", true), ("nginx", false), ("\"\"", false)])
    func policyOfAnotherClass(policyClass: String, fires: Bool) throws {
        let policy = try Fixture.policy("{ingressClassName: \(policyClass), ingressMTLS: {clientCertSecret: ca}}", name: "classy")
        let findings = Fixture.evaluate(try Fixture.ingress(policies: "classy"), state: try Self.state([policy])).findings
        #expect(findings.hits == (fires ? ["ingress/policy-ref@\(Self.policiesPath)"] : []), "\(findings)")
        if fires {
            #expect(findings.first?.severity == .deny)
            #expect(findings.first?.message.contains("ingressClassName") == true)
        }
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

    @Test func egressWithTLSUpstreamIsQuiet() throws {
        #expect(try Self.referenceFindings(try Fixture.ingress(policies: "egress", extraAnnotations: "nginx.org/ssl-services: web")).isEmpty)
    }

    /// isSSLEnabled / nginx.ingress.tmpl: grpc-services alone is grpc:// (plaintext); both make grpcs://,
    /// which server-scope proxy_ssl_* settings still do not reach.
    @Test func grpcOnlyUpstreamIsPlaintextAndServerScoped() throws {
        let grpcOnly = try Self.referenceFindings(try Fixture.ingress(policies: "egress", extraAnnotations: "nginx.org/grpc-services: web"))
        #expect(grpcOnly.hits == ["egress-mtls/upstream-tls@spec.rules[0].http.paths[0].backend.service.name",
                                  "egress-mtls/grpc-server-scope@\(Self.policiesPath)"])
        #expect(grpcOnly.with(rule: "egress-mtls/upstream-tls").first?.message.contains("both annotations") == true)
        let both = try Self.referenceFindings(try Fixture.ingress(policies: "egress",
            extraAnnotations: "nginx.org/grpc-services: web, nginx.org/ssl-services: web"))
        #expect(both.hits == ["egress-mtls/grpc-server-scope@\(Self.policiesPath)"])
        #expect(both.allSatisfy { $0.severity == .warn })
    }

    @Test func grpcOnAMinionGetsLocationScope() throws {
        let minion = try Fixture.ingress(policies: "egress", tls: false,
            extraAnnotations: "nginx.org/mergeable-ingress-type: minion, nginx.org/grpc-services: web, nginx.org/ssl-services: web")
        #expect(try Self.referenceFindings(minion).isEmpty)
    }

    @Test func correctIngressMTLSIsQuiet() throws {
        #expect(try Self.referenceFindings(try Fixture.ingress(policies: "mtls")).isEmpty)
    }

    @Test(arguments: [("ingressClassName: other, ", true), ("", false)])
    func otherClassesAreNotChecked(classPart: String, skipped: Bool) throws {
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: \"a,,b\"}", spec: "{\(classPart)rules: [{host: a.example.com}]}")
        #expect(Fixture.evaluate(ingress, state: []).findings.isEmpty == skipped)
    }

    /// HasCorrectIngressClass: the legacy annotation wins over spec.ingressClassName.
    @Test func legacyClassAnnotationWinsOverTheField() throws {
        let nginxByAnnotation = try Fixture.ingress(annotations: "{kubernetes.io/ingress.class: nginx, nginx.org/policies: \"a,,b\"}",
                                                    spec: "{ingressClassName: other}")
        #expect(!Fixture.evaluate(nginxByAnnotation, state: []).findings.isEmpty)
        let otherByAnnotation = try Fixture.ingress(annotations: "{kubernetes.io/ingress.class: other, nginx.org/policies: \"a,,b\"}",
                                                    spec: "{ingressClassName: nginx}")
        #expect(Fixture.evaluate(otherByAnnotation, state: []).findings.isEmpty)
    }

    @Test func legacyClassAnnotation() throws {
        let ingress = try Fixture.ingress(annotations: "{kubernetes.io/ingress.class: traefik, nginx.org/policies: \"a,,b\"}", spec: "{}")
        #expect(Fixture.evaluate(ingress, state: []).findings.isEmpty)
        var settings = Fixture.settings
        settings.ingressClasses = ["traefik"]
        #expect(!Fixture.evaluate(ingress, state: [], settings: settings).findings.isEmpty)
    }
}
