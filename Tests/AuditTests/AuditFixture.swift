import Foundation
import KubeModel
import Rules
import Testing

/// Objects for the audit tests, from YAML (the loader the CLI uses).
enum AuditFixture {
    static func objects(_ yaml: String) throws -> [KubeObject] {
        try ManifestLoader.load(data: Data(yaml.utf8), source: "test").map(\.object)
    }

    static func object(_ yaml: String) throws -> KubeObject {
        try #require(try objects(yaml).first)
    }

    static func secret(_ name: String, type: String, data: [String: String], namespace: String = "ns") throws -> KubeObject {
        let encoded = data.mapValues { JSONValue.string(Data($0.utf8).base64EncodedString()) }
        return try #require(KubeObject(.object([
            "apiVersion": .string("v1"), "kind": .string("Secret"),
            "metadata": .object(["name": .string(name), "namespace": .string(namespace), "uid": .string("uid-\(name)")]),
            "type": .string(type), "data": .object(JSONObject(encoded)),
        ])))
    }

    static func ingressMTLSPolicy(_ name: String, secret: String, namespace: String = "ns") throws -> KubeObject {
        try object("""
            apiVersion: k8s.nginx.org/v1
            kind: Policy
            metadata: {name: \(name), namespace: \(namespace)}
            spec: {ingressMTLS: {clientCertSecret: \(secret), verifyClient: "on"}}
            """)
    }

    /// An Ingress for host `a.example.com` with TLS from Secret `tls`, using `policies`.
    static func ingress(_ name: String, policies: String, namespace: String = "ns") throws -> KubeObject {
        try object("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: \(name), namespace: \(namespace), annotations: {nginx.org/policies: "\(policies)"}}
            spec:
              ingressClassName: nginx
              tls: [{hosts: [a.example.com], secretName: tls}]
              rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
            """)
    }

    static func virtualServer(_ name: String, policy: String, namespace: String = "ns") throws -> KubeObject {
        try object("""
            apiVersion: k8s.nginx.org/v1
            kind: VirtualServer
            metadata: {name: \(name), namespace: \(namespace)}
            spec: {host: b.example.com, tls: {secret: tls}, policies: [{name: \(policy)}], upstreams: [{name: web, service: web, port: 80}], routes: [{path: /, action: {pass: web}}]}
            """)
    }
}
