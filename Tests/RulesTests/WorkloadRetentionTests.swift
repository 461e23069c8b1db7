import Foundation
import KubeModel
import Testing
@testable import Rules

/// The webhook decodes a review keeping, of each container, only `name` and `ports`
/// (`JSONParser.Retention.admissionReview`). These tests hold that to what matters: for every
/// workload kind and container shape, well-formed or not, the rules find exactly what they find
/// on the object parsed whole, and the dropped members really are gone.
@Suite struct WorkloadRetentionTests {
    /// A container as real manifests have it: most of its bytes are what no rule reads.
    static let fullContainer: JSONValue = .object([
        "name": .string("app"), "image": .string("registry.example.com/team/app:1.2.3"),
        "env": .array([.object(["name": .string("A"), "value": .string("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")])]),
        "ports": .array([MeshFixture.port(8080, "TCP"), MeshFixture.port(5353, "UDP")]),
        "resources": .object(["limits": .object(["cpu": .string("500m")])]),
        "readinessProbe": .object(["httpGet": .object(["path": .string("/ready"), "port": .integer(8080)])]),
    ])

    /// Pod specs: well-formed, and with every type a rule reports at its path.
    static let pods: [(label: String, containers: [JSONValue], initContainers: [JSONValue]?)] = [
        ("full containers", [fullContainer, fullContainer], [fullContainer]),
        ("container not an object", [.string("app")], nil),
        ("ports not an array", [.object(["name": .string("app"), "ports": .string("8080"), "env": .array([])])], nil),
        ("protocol not a string", [.object(["name": .string("app"), "ports": .array([.object(["containerPort": .integer(53), "protocol": .integer(17)])])])], nil),
        ("name not a string, env not an array", [.object(["name": .integer(1), "env": .string("A=1")])], [.null]),
    ]

    static let modes: [String] = ["strict", "permissive", "bogus"]

    static func reviewText(_ object: JSONValue, operation: String) throws -> String {
        let text = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
        let kind = try #require(KubeObject(object))
        let old = operation == "UPDATE" ? text : "null"
        return #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"\#(kind.group)","version":"\#(kind.version)","kind":"\#(kind.kind)"},"namespace":"default","name":"demo","operation":"\#(operation)","object":\#(text),"oldObject":\#(old)}}"#
    }

    static func dropped(_ container: JSONValue?) -> Bool {
        guard let members = container?.objectValue else { return true }
        return members.keys.allSatisfy { ["name", "ports"].contains($0) }
    }

    @Test("findings are the same as on the whole object", arguments: MeshFixture.kinds)
    func sameFindingsAsTheWholeObject(kind: MeshFixture.Kind) throws {
        var fired = 0
        for pod in Self.pods {
            for mode in Self.modes {
                for operation in ["CREATE", "UPDATE"] {
                    let podValue = MeshFixture.pod(annotations: ["config.nsm.nginx.com/mtls-mode": .string(mode)],
                                                   containers: pod.containers, initContainers: pod.initContainers)
                    let object = try MeshFixture.object(kind, pod: podValue).raw
                    let text = try Self.reviewText(object, operation: operation)
                    let retained = try AdmissionReview.decodeRequest(from: Data(text.utf8))
                    let whole = try JSONParser.parse(Data(text.utf8))["request"]
                    let settings = Settings(meshMTLSMode: .strict)
                    let expected = RuleEngine.evaluate(
                        ReviewInput(operation: retained.operation, kind: retained.kind, namespace: "default", name: "demo",
                                    object: whole?["object"], oldObject: operation == "UPDATE" ? whole?["oldObject"] : nil),
                        snapshot: nil, settings: settings)
                    let found = RuleEngine.evaluate(ReviewInput(retained), snapshot: nil, settings: settings)
                    #expect(found == expected, "\(kind) \(pod.label) \(mode) \(operation)")
                    fired += expected.findings.count

                    // What the rules do not read is gone from every container of both objects.
                    let template = kind.kind == "Pod" ? retained.object
                        : kind.kind == "CronJob" ? retained.object?["spec"]?["jobTemplate"]?["spec"]?["template"]
                        : retained.object?["spec"]?["template"]
                    let podSpec = kind.kind == "Pod" ? retained.object?["spec"] : template?["spec"]
                    for list in ["containers", "initContainers"] {
                        for container in podSpec?[list]?.arrayValue ?? [] {
                            #expect(Self.dropped(container), "\(kind) \(pod.label): \(list)")
                        }
                    }
                    if pod.label == "full containers" {
                        #expect(podSpec?["containers"]?[0]?["ports"]?.arrayValue?.count == 2)
                        #expect(podSpec?["containers"]?[0]?["name"] == .string("app"))
                        #expect(whole?["object"]?["spec"] != nil)
                    }
                }
            }
        }
        // The comparison is of something: the cases make the mesh rules fire.
        #expect(fired > 0)
    }

    /// Members named like container fields are kept everywhere but in a container.
    @Test func containerFieldsElsewhereAreKept() throws {
        let object: JSONValue = .object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"),
            "metadata": .object(["name": .string("demo"), "namespace": .string("default"),
                                 "annotations": .object(["env": .string("kept")])]),
            "spec": .object([
                "env": .string("kept"),
                "template": .object([
                    "metadata": .object(["labels": .object(["env": .string("kept")])]),
                    "containers": .array([.object(["env": .string("kept")])]),
                    "spec": .object([
                        "volumes": .array([.object(["name": .string("v"), "env": .string("kept")])]),
                        "ephemeralContainers": .array([.object(["name": .string("e"), "env": .string("kept")])]),
                        "containers": .array([.object(["name": .string("app"), "env": .string("dropped"),
                                                       "ports": .array([.object(["containerPort": .integer(80), "env": .string("kept")])])])]),
                    ]),
                ]),
            ]),
        ])
        let request = try AdmissionReview.decodeRequest(from: Data(try Self.reviewText(object, operation: "CREATE").utf8))
        let spec = try #require(request.object?["spec"])
        #expect(request.object?["metadata"]?["annotations"]?["env"] == .string("kept"))
        #expect(spec["env"] == .string("kept"))
        #expect(spec["template"]?["metadata"]?["labels"]?["env"] == .string("kept"))
        #expect(spec["template"]?["containers"]?[0]?["env"] == .string("kept"))
        #expect(spec["template"]?["spec"]?["volumes"]?[0]?["env"] == .string("kept"))
        #expect(spec["template"]?["spec"]?["ephemeralContainers"]?[0]?["env"] == .string("kept"))
        #expect(spec["template"]?["spec"]?["containers"]?[0]?["env"] == nil)
        #expect(spec["template"]?["spec"]?["containers"]?[0]?["ports"]?[0]?["env"] == .string("kept"))
        // A plain parse keeps everything.
        let whole = try JSONParser.parse(Data(try Self.reviewText(object, operation: "CREATE").utf8))
        #expect(whole["request"]?["object"]?["spec"]?["template"]?["spec"]?["containers"]?[0]?["env"] == .string("dropped"))
    }

    /// What is dropped is still checked to be valid JSON, as `managedFields` is.
    @Test(arguments: [#"[{"name":"A",}]"#, #""\x""#, #"[tru]"#, "\"a\u{01}\""])
    func droppedContainerMembersAreStillValidated(env: String) {
        let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"app","env":\#(env)}]}}}}"#
        #expect(throws: AdmissionReviewDecodingError.self) { try AdmissionReview.decodeRequest(from: Data(body.utf8)) }
        let valid = body.replacingOccurrences(of: env, with: #"[{"name":"A","value":"1"}]"#)
        #expect((try? AdmissionReview.decodeRequest(from: Data(valid.utf8))) != nil)
    }
}
