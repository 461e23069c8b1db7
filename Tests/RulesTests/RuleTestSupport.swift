import Certificates
import Foundation
import KubeModel
import Testing
@testable import Rules

/// Builders shared by the rule tests: objects from YAML text, evaluation as the webhook would run it.
enum Fixture {
    static let settings = Settings(now: SecretTestPKI.now)

    /// Every object of a YAML stream (the same loader the CLI uses, so YAML 1.1 booleans apply).
    static func objects(_ yaml: String) throws -> [KubeObject] {
        try ManifestLoader.load(data: Data(yaml.utf8), source: "test").map(\.object)
    }

    static func object(_ yaml: String) throws -> KubeObject {
        try #require(try objects(yaml).first)
    }

    /// A Policy `ns/name` whose `spec` is the given YAML flow mapping, e.g. `{ingressMTLS: {clientCertSecret: ca}}`.
    static func policy(_ spec: String, name: String = "pol", namespace: String = "ns") throws -> KubeObject {
        try object("apiVersion: k8s.nginx.org/v1\nkind: Policy\nmetadata: {name: \(name), namespace: \(namespace)}\nspec: \(spec)\n")
    }

    static func policyView(_ spec: String) throws -> PolicyView { PolicyView(try policy(spec)) }

    /// An Ingress in `ns` with the given annotations (YAML flow mapping) and spec (YAML flow mapping).
    static func ingress(name: String = "ing", annotations: String = "{}", spec: String) throws -> KubeObject {
        try object("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: \(name), namespace: ns, annotations: \(annotations)}\nspec: \(spec)\n")
    }

    /// A typical Ingress: host `a.example.com` → service `web`, TLS for it with Secret `tls`.
    static func ingress(name: String = "ing", policies: String?, tls: Bool = true, extraAnnotations: String = "") throws -> KubeObject {
        var annotations: [String] = []
        if let policies { annotations.append("nginx.org/policies: \"\(policies)\"") }
        if !extraAnnotations.isEmpty { annotations.append(extraAnnotations) }
        let tlsPart = tls ? "tls: [{hosts: [a.example.com], secretName: tls}], " : ""
        return try ingress(name: name, annotations: "{\(annotations.joined(separator: ", "))}", spec:
            "{ingressClassName: nginx, \(tlsPart)rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}")
    }

    static func secret(_ name: String, type: String, data: [String: String], namespace: String = "ns") throws -> KubeObject {
        let encoded = data.mapValues { JSONValue.string(Data($0.utf8).base64EncodedString()) }
        return try #require(KubeObject(.object([
            "apiVersion": .string("v1"), "kind": .string("Secret"),
            "metadata": .object(["name": .string(name), "namespace": .string(namespace)]),
            "type": .string(type), "data": .object(JSONObject(encoded)),
        ])))
    }

    /// A valid `nginx.org/ca` Secret (root + intermediate) and a valid `kubernetes.io/tls` Secret.
    static func caSecret(_ name: String = "ca", namespace: String = "ns", crl: Bool = false) throws -> KubeObject {
        let pki = try SecretTestPKI.get()
        var data = ["ca.crt": pki.root.certificate.pemEncoded()]
        if crl { data["ca.crl"] = pki.crlPEM }
        return try secret(name, type: "nginx.org/ca", data: data, namespace: namespace)
    }

    static func tlsSecret(_ name: String = "tls", namespace: String = "ns") throws -> KubeObject {
        let pki = try SecretTestPKI.get()
        return try secret(name, type: "kubernetes.io/tls", data: [
            "tls.crt": pki.leaf.certificate.pemEncoded(), "tls.key": pki.leaf.privateKey.pemEncoded(),
        ], namespace: namespace)
    }

    static func input(_ object: KubeObject, _ operation: AdmissionOperation = .create, old: KubeObject? = nil) -> ReviewInput {
        let version = String(object.apiVersion.split(separator: "/").last ?? "")
        return ReviewInput(operation: operation, kind: GroupVersionKind(group: object.group, version: version, kind: object.kind),
                           namespace: object.metadata.namespace, name: object.metadata.name,
                           object: operation == .delete ? nil : object.raw,
                           oldObject: operation == .delete ? object.raw : old?.raw)
    }

    /// Evaluates `object` against a snapshot of `state` (nil: no cluster view).
    static func evaluate(_ object: KubeObject, _ operation: AdmissionOperation = .create, old: KubeObject? = nil,
                         state: [KubeObject]?, settings: Settings = Fixture.settings) -> Evaluation {
        RuleEngine.evaluate(input(object, operation, old: old), snapshot: state.map { InMemorySnapshot(objects: $0) },
                            settings: settings)
    }
}

extension Array where Element == Finding {
    /// `rule@field` of every finding, the shape tests assert on.
    var hits: Set<String> { Set(map { "\($0.rule)@\($0.field)" }) }

    func with(rule: RuleID) -> [Finding] { filter { $0.rule == rule } }

    var denies: [Finding] { filter { $0.severity == .deny } }
}
