import Foundation
import KubeModel
import Testing
@testable import Rules

/// Builds Pods and workloads with pod templates, as JSON values, for the section 6 tests.
enum MeshFixture {
    struct Kind: Sendable, CustomStringConvertible {
        let kind: String
        let apiVersion: String
        /// Path from the root to the pod template, as rendered in findings (empty for a Pod).
        let templatePrefix: String
        var description: String { kind }
    }

    static let kinds: [Kind] = [
        Kind(kind: "Pod", apiVersion: "v1", templatePrefix: ""),
        Kind(kind: "Deployment", apiVersion: "apps/v1", templatePrefix: "spec.template."),
        Kind(kind: "StatefulSet", apiVersion: "apps/v1", templatePrefix: "spec.template."),
        Kind(kind: "DaemonSet", apiVersion: "apps/v1", templatePrefix: "spec.template."),
        Kind(kind: "ReplicaSet", apiVersion: "apps/v1", templatePrefix: "spec.template."),
        Kind(kind: "ReplicationController", apiVersion: "v1", templatePrefix: "spec.template."),
        Kind(kind: "Job", apiVersion: "batch/v1", templatePrefix: "spec.template."),
        Kind(kind: "CronJob", apiVersion: "batch/v1", templatePrefix: "spec.jobTemplate.spec.template."),
    ]

    static func pod(annotations: JSONObject = [:], containers: [JSONValue]? = nil,
                    initContainers: [JSONValue]? = nil) -> JSONValue {
        var spec: JSONObject = [
            "containers": .array(containers ?? [container("app", ports: [port(8080, "TCP")])]),
        ]
        if let initContainers { spec["initContainers"] = .array(initContainers) }
        return .object([
            "metadata": .object(["labels": .object(["app": .string("demo")]), "annotations": .object(annotations)]),
            "spec": .object(spec),
        ])
    }

    static func container(_ name: String, ports: [JSONValue]) -> JSONValue {
        .object(["name": .string(name), "image": .string("demo:1"), "ports": .array(ports)])
    }

    static func port(_ number: Int64, _ proto: String?) -> JSONValue {
        var members: JSONObject = ["containerPort": .integer(number)]
        if let proto { members["protocol"] = .string(proto) }
        return .object(members)
    }

    /// `kind` wrapping `pod`; `outer` annotations go on the workload's own metadata.
    static func object(_ kind: Kind, pod: JSONValue, outer: JSONObject = [:]) throws -> KubeObject {
        var members: JSONObject = [
            "apiVersion": .string(kind.apiVersion), "kind": .string(kind.kind),
        ]
        let meta: JSONObject = ["name": .string("demo"), "namespace": .string("default")]
        switch kind.kind {
        case "Pod":
            var podMeta = pod["metadata"]?.objectValue ?? [:]
            for (key, value) in meta where podMeta[key] == nil { podMeta[key] = value }
            members["metadata"] = .object(podMeta)
            members["spec"] = pod["spec"]
        case "CronJob":
            members["metadata"] = .object(meta.adding("annotations", .object(outer)))
            members["spec"] = .object([
                "schedule": .string("*/5 * * * *"),
                "jobTemplate": .object(["spec": .object(["template": pod])]),
            ])
        default:
            members["metadata"] = .object(meta.adding("annotations", .object(outer)))
            members["spec"] = .object(["replicas": .integer(1), "template": pod])
        }
        return try #require(KubeObject(.object(members)))
    }
}

private extension JSONObject {
    func adding(_ key: String, _ value: JSONValue) -> JSONObject {
        var copy = self
        copy[key] = value
        return copy
    }
}

private func settings(_ mode: MeshMTLSMode) -> Settings { Settings(meshMTLSMode: mode) }
private let modeKey = "config.nsm.nginx.com/mtls-mode"

/// `(rule, field)` pairs, for order-insensitive comparison.
private func pairs(_ findings: [Finding]) -> Set<String> {
    Set(findings.map { "\($0.rule) \($0.field)" })
}

struct MeshRulesTests {
    // MARK: every kind

    @Test("invalid value is denied at the pod template of every kind", arguments: MeshFixture.kinds)
    func invalidValueEveryKind(kind: MeshFixture.Kind) throws {
        let object = try MeshFixture.object(kind, pod: MeshFixture.pod(annotations: [modeKey: .string("maybe")]))
        let findings = MeshRules.findings(object, settings: settings(.permissive))
        let field = "\(kind.templatePrefix)metadata.annotations[\(modeKey)]"
        #expect(pairs(findings) == ["mesh/mtls-mode-value \(field)"])
        #expect(findings.first?.severity == .deny)
        #expect(findings.first?.message.contains("\"maybe\"") == true)
    }

    @Test("valid template annotation is quiet for every kind", arguments: MeshFixture.kinds)
    func validEveryKind(kind: MeshFixture.Kind) throws {
        let object = try MeshFixture.object(kind, pod: MeshFixture.pod(annotations: [modeKey: .string("strict")]))
        #expect(MeshRules.findings(object, settings: settings(.permissive)).isEmpty)
        #expect(MeshRules.findings(object, settings: settings(.strict)).isEmpty)
    }

    @Test("UDP ports under mTLS warn for every kind", arguments: MeshFixture.kinds)
    func udpEveryKind(kind: MeshFixture.Kind) throws {
        let pod = MeshFixture.pod(
            containers: [MeshFixture.container("dns", ports: [MeshFixture.port(53, "TCP"), MeshFixture.port(53, "UDP")])],
            initContainers: [MeshFixture.container("init", ports: [MeshFixture.port(9999, "UDP")])])
        let findings = MeshRules.findings(try MeshFixture.object(kind, pod: pod), settings: settings(.permissive))
        let spec = "\(kind.templatePrefix)spec"
        #expect(pairs(findings) == [
            "mesh/udp-plaintext \(spec).containers[0].ports[1].protocol",
            "mesh/udp-plaintext \(spec).initContainers[0].ports[0].protocol",
        ])
        #expect(findings.allSatisfy { $0.severity == .warn })
    }

    /// `protocol` names UDP in any case (the CLI reads manifests the API server has not
    /// normalized); the byte comparison agrees with the Unicode case mapping it replaces.
    @Test(arguments: [("UDP", true), ("udp", true), ("uDp", true), ("TCP", false), ("SCTP", false), ("UDPX", false),
                      ("UD", false), ("", false), ("U\u{0301}DP", false), ("ÚDP", false), ("UDP\u{0}", false), ("5DP", false)])
    func udpInAnyCase(name: String, isUDP: Bool) throws {
        #expect(MeshRules.isUDP(name) == isUDP)
        #expect(MeshRules.isUDP(name) == (name.uppercased() == "UDP"))
        let pod = MeshFixture.pod(containers: [MeshFixture.container("app", ports: [MeshFixture.port(53, name)])])
        let findings = MeshRules.findings(try MeshFixture.object(MeshFixture.kinds[1], pod: pod), settings: settings(.permissive))
        #expect(findings.contains { $0.rule == "mesh/udp-plaintext" } == isUDP)
    }

    @Test("annotation on the workload's own metadata warns", arguments: MeshFixture.kinds.filter { $0.kind != "Pod" })
    func placementEveryWorkload(kind: MeshFixture.Kind) throws {
        let object = try MeshFixture.object(kind, pod: MeshFixture.pod(), outer: [modeKey: .string("strict")])
        let findings = MeshRules.findings(object, settings: settings(.permissive))
        #expect(pairs(findings) == ["mesh/mtls-mode-placement metadata.annotations[\(modeKey)]"])
        #expect(findings.first?.severity == .warn)
        #expect(findings.first?.message.contains("\(kind.templatePrefix)metadata.annotations") == true)
    }

    @Test func cronJobTemplateMetadataPlacement() {
        let object = KubeObject(.object([
            "apiVersion": .string("batch/v1"), "kind": .string("CronJob"), "metadata": .object(["name": .string("c")]),
            "spec": .object(["jobTemplate": .object([
                "metadata": .object(["annotations": .object([modeKey: .string("strict")])]),
                "spec": .object(["template": MeshFixture.pod()]),
            ])]),
        ]))
        let findings = object.map { MeshRules.findings($0, settings: settings(.permissive)) } ?? []
        #expect(pairs(findings) == ["mesh/mtls-mode-placement spec.jobTemplate.metadata.annotations[\(modeKey)]"])
    }

    // MARK: mode combinations

    struct ModeCase: Sendable, CustomStringConvertible {
        let global: MeshMTLSMode
        let annotation: String?
        let expected: Set<String>
        var description: String { "\(global) / \(annotation ?? "-")" }
    }

    static let field = "spec.template.metadata.annotations[\(modeKey)]"
    static let meta = "spec.template.metadata"
    static let modeCases: [ModeCase] = [
        ModeCase(global: .off, annotation: nil, expected: ["mesh/mtls-off \(meta)"]),
        ModeCase(global: .off, annotation: "off", expected: ["mesh/mtls-off \(field)"]),
        ModeCase(global: .off, annotation: "permissive", expected: []),
        ModeCase(global: .off, annotation: "strict", expected: []),
        ModeCase(global: .permissive, annotation: nil, expected: []),
        ModeCase(global: .permissive, annotation: "off", expected: ["mesh/mtls-off \(field)"]),
        ModeCase(global: .permissive, annotation: "permissive", expected: []),
        ModeCase(global: .permissive, annotation: "strict", expected: []),
        ModeCase(global: .strict, annotation: nil, expected: []),
        ModeCase(global: .strict, annotation: "off",
                 expected: ["mesh/mtls-mode-conflict \(field)", "mesh/mtls-off \(field)"]),
        ModeCase(global: .strict, annotation: "permissive", expected: ["mesh/mtls-mode-conflict \(field)"]),
        ModeCase(global: .strict, annotation: "strict", expected: []),
        // Invalid values: denied once under mtls-mode-value; the effective mode is the mesh-wide one.
        ModeCase(global: .strict, annotation: "disabled", expected: ["mesh/mtls-mode-value \(field)"]),
        ModeCase(global: .off, annotation: "", expected: ["mesh/mtls-mode-value \(field)", "mesh/mtls-off \(meta)"]),
        ModeCase(global: .permissive, annotation: " strict", expected: ["mesh/mtls-mode-value \(field)"]),
    ]

    @Test("mode combinations", arguments: modeCases)
    func modeCombination(_ c: ModeCase) throws {
        let annotations: JSONObject = c.annotation.map { [modeKey: .string($0)] } ?? [:]
        let object = try MeshFixture.object(MeshFixture.kinds[1], pod: MeshFixture.pod(annotations: annotations))
        let findings = MeshRules.findings(object, settings: settings(c.global))
        #expect(pairs(findings) == c.expected)
        for finding in findings {
            let deny: Set<RuleID> = ["mesh/mtls-mode-value", "mesh/mtls-mode-conflict"]
            #expect(finding.severity == (deny.contains(finding.rule) ? .deny : .warn))
        }
    }

    @Test("any case is accepted with a lowercase warning", arguments: ["Strict", "STRICT", "Permissive", "OFF"])
    func nonCanonicalCase(value: String) throws {
        let object = try MeshFixture.object(MeshFixture.kinds[0], pod: MeshFixture.pod(annotations: [modeKey: .string(value)]))
        let findings = MeshRules.findings(object, settings: settings(.permissive))
        let valueFindings = findings.filter { $0.rule == "mesh/mtls-mode-value" }
        #expect(valueFindings.count == 1)
        #expect(valueFindings.first?.severity == .warn)
        #expect(valueFindings.first?.field.description == "metadata.annotations[\(modeKey)]")
        #expect(valueFindings.first?.message.contains("lowercase") == true)
        // The value counts as the mode it names.
        #expect(findings.contains { $0.rule == "mesh/mtls-off" } == (value.lowercased() == "off"))
    }

    @Test func uppercaseStrictUnderStrictIsNoConflict() throws {
        let object = try MeshFixture.object(MeshFixture.kinds[1], pod: MeshFixture.pod(annotations: [modeKey: .string("STRICT")]))
        let findings = MeshRules.findings(object, settings: settings(.strict))
        #expect(pairs(findings) == ["mesh/mtls-mode-value \(Self.field)"])
        #expect(findings.allSatisfy { $0.severity == .warn })
    }

    @Test("a non-string value is denied (unquoted YAML boolean)")
    func nonStringValue() throws {
        let object = try MeshFixture.object(MeshFixture.kinds[1], pod: MeshFixture.pod(annotations: [modeKey: .bool(false)]))
        let findings = MeshRules.findings(object, settings: settings(.permissive))
        #expect(pairs(findings) == ["mesh/mtls-mode-value \(Self.field)"])
        #expect(findings.first?.severity == .deny)
    }

    // MARK: UDP

    @Test("UDP is quiet when the effective mode is off or the port is TCP/SCTP/default")
    func udpQuiet() throws {
        let udpPod = MeshFixture.pod(containers: [MeshFixture.container("dns", ports: [MeshFixture.port(53, "UDP")])])
        let off = MeshRules.findings(try MeshFixture.object(MeshFixture.kinds[1], pod: udpPod), settings: settings(.off))
        #expect(!off.contains { $0.rule == "mesh/udp-plaintext" })

        let offByAnnotation = MeshFixture.pod(
            annotations: [modeKey: .string("off")], containers: [MeshFixture.container("dns", ports: [MeshFixture.port(53, "UDP")])])
        let f = MeshRules.findings(try MeshFixture.object(MeshFixture.kinds[1], pod: offByAnnotation), settings: settings(.permissive))
        #expect(!f.contains { $0.rule == "mesh/udp-plaintext" })

        let tcp = MeshFixture.pod(containers: [MeshFixture.container("web", ports: [
            MeshFixture.port(80, nil), MeshFixture.port(443, "TCP"), MeshFixture.port(9, "SCTP"),
        ])])
        #expect(MeshRules.findings(try MeshFixture.object(MeshFixture.kinds[1], pod: tcp), settings: settings(.strict)).isEmpty)
    }

    @Test func udpUnderStrictAnnotationWhileMeshOff() throws {
        let pod = MeshFixture.pod(annotations: [modeKey: .string("strict")],
                                  containers: [MeshFixture.container("dns", ports: [MeshFixture.port(53, "UDP")])])
        let findings = MeshRules.findings(try MeshFixture.object(MeshFixture.kinds[0], pod: pod), settings: settings(.off))
        #expect(pairs(findings) == ["mesh/udp-plaintext spec.containers[0].ports[0].protocol"])
        #expect(findings.first?.message.contains("\"dns\"") == true)
        #expect(findings.first?.message.contains("53") == true)
    }

    // MARK: ignored ports

    struct IgnoredCase: Sendable, CustomStringConvertible {
        let global: MeshMTLSMode
        let annotations: [String: String]
        let expected: Set<String>
        var description: String { "\(global) \(annotations.keys.sorted())" }
    }

    static let incoming = "config.nsm.nginx.com/ignore-incoming-ports"
    static let outgoing = "config.nsm.nginx.com/ignore-outgoing-ports"
    static let ignoredCases: [IgnoredCase] = [
        IgnoredCase(global: .strict, annotations: [incoming: "8080"],
                    expected: ["mesh/ignored-ports spec.template.metadata.annotations[\(incoming)]"]),
        IgnoredCase(global: .strict, annotations: [incoming: "8080", outgoing: "5432,6379"],
                    expected: ["mesh/ignored-ports spec.template.metadata.annotations[\(incoming)]",
                               "mesh/ignored-ports spec.template.metadata.annotations[\(outgoing)]"]),
        IgnoredCase(global: .permissive, annotations: [modeKey: "strict", outgoing: "5432"],
                    expected: ["mesh/ignored-ports spec.template.metadata.annotations[\(outgoing)]"]),
        IgnoredCase(global: .permissive, annotations: [outgoing: "5432"], expected: []),
        IgnoredCase(global: .off, annotations: [incoming: "80"], expected: ["mesh/mtls-off spec.template.metadata"]),
        IgnoredCase(global: .strict, annotations: [incoming: "  "], expected: []),
    ]

    @Test("ignored ports warn only under an effective strict mode", arguments: ignoredCases)
    func ignoredPorts(_ c: IgnoredCase) throws {
        let pod = MeshFixture.pod(annotations: JSONObject(c.annotations.mapValues { JSONValue.string($0) }))
        let findings = MeshRules.findings(try MeshFixture.object(MeshFixture.kinds[1], pod: pod), settings: settings(c.global))
        #expect(pairs(findings) == c.expected)
    }

    // MARK: tolerance

    @Test func notAWorkloadIsIgnored() {
        let configMap = KubeObject(.object([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
            "metadata": .object(["annotations": .object([modeKey: .string("bogus")])]),
        ]))
        let crdNamedJob = KubeObject(.object([
            "apiVersion": .string("example.com/v1"), "kind": .string("Job"),
            "spec": .object(["template": MeshFixture.pod(annotations: [modeKey: .string("bogus")])]),
        ]))
        for object in [configMap, crdNamedJob].compactMap({ $0 }) {
            #expect(MeshRules.findings(object, settings: settings(.strict)).isEmpty)
        }
    }

    struct WrongTypeCase: Sendable, CustomStringConvertible {
        let name: String
        let object: JSONValue
        let global: MeshMTLSMode
        let expected: Set<String>
        var description: String { name }
    }

    static let wrongTypeCases: [WrongTypeCase] = [
        WrongTypeCase(name: "template is a string", object: .object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"), "spec": .object(["template": .string("oops")]),
        ]), global: .permissive, expected: ["mesh/mtls-mode-value spec.template"]),
        WrongTypeCase(name: "annotations is a list", object: .object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"),
            "spec": .object(["template": .object(["metadata": .object(["annotations": .array([])])])]),
        ]), global: .permissive, expected: ["mesh/mtls-mode-value spec.template.metadata.annotations"]),
        WrongTypeCase(name: "containers is an object", object: .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"), "spec": .object(["containers": .object([:])]),
        ]), global: .permissive, expected: ["mesh/udp-plaintext spec.containers"]),
        WrongTypeCase(name: "ports is a string, protocol a number", object: .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"), "spec": .object(["containers": .array([
                .object(["name": .string("a"), "ports": .string("53/udp")]),
                .object(["name": .string("b"), "ports": .array([.object(["containerPort": .integer(1), "protocol": .integer(17)])])]),
            ])]),
        ]), global: .strict, expected: ["mesh/udp-plaintext spec.containers[0].ports",
                                        "mesh/udp-plaintext spec.containers[1].ports[0].protocol"]),
        WrongTypeCase(name: "container type errors are not read when mTLS is off", object: .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"), "spec": .object(["containers": .string("x")]),
        ]), global: .off, expected: ["mesh/mtls-off metadata"]),
        WrongTypeCase(name: "no template at all", object: .object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"),
        ]), global: .strict, expected: []),
    ]

    @Test("wrong types become findings where a rule reads them", arguments: wrongTypeCases)
    func wrongTypes(_ c: WrongTypeCase) throws {
        guard let object = KubeObject(c.object) else {
            Issue.record("fixture is not an object")
            return
        }
        let findings = MeshRules.findings(object, settings: settings(c.global))
        #expect(pairs(findings) == c.expected)
        #expect(!findings.contains { $0.message.contains("an string") })
    }

    @Test func messagesEscapeControlCharacters() throws {
        let object = try MeshFixture.object(MeshFixture.kinds[0], pod: MeshFixture.pod(annotations: [modeKey: .string("a\nb")]))
        let findings = MeshRules.findings(object, settings: settings(.permissive))
        #expect(findings.count == 1)
        #expect(findings.allSatisfy { !$0.message.contains("\n") })
    }
}
