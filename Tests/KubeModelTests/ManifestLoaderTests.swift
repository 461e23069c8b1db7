import Foundation
import TestSupport
import Testing
@testable import KubeModel

@Suite struct ManifestLoaderTests {
    static func load(_ yaml: String, source: String = "m.yaml") throws -> [LoadedObject] {
        try ManifestLoader.load(data: Data(yaml.utf8), source: source)
    }

    @Test func multiDocumentStreamWithEmptyDocuments() throws {
        let loaded = try Self.load("""
            ---
            # only a comment
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: a}
            ---
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: b}
            """)
        #expect(loaded.map(\.object.name) == ["a", "b"])
        #expect(loaded.map(\.source) == ["m.yaml#doc2", "m.yaml#doc4"])
    }

    @Test func listItemsAreFlattened() throws {
        let loaded = try Self.load("""
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
            - {apiVersion: k8s.nginx.org/v1, kind: Policy, metadata: {name: p}, spec: {}}
            """)
        #expect(loaded.map(\.object.kind) == ["ConfigMap", "Policy"])
        #expect(loaded[1].source == "m.yaml#doc1/items[1]")
    }

    @Test func yaml11BooleansLikeKubectl() throws {
        let object = try #require(try Self.load("""
            apiVersion: k8s.nginx.org/v1
            kind: Policy
            metadata: {name: p}
            spec:
              ingressMTLS:
                clientCertSecret: ca
                verifyClient: on
                verifyDepth: "2"
            """).first?.object)
        #expect(object.raw["spec"]?["ingressMTLS"]?["verifyClient"] == .bool(true))
        let view = try #require(PolicyView(object).ingressMTLS)
        #expect(view.verifyClient == .wrongType(.bool(true)))
        #expect(view.verifyDepth == .wrongType(.string("2")))
        #expect(view.clientCertSecret == .value("ca"))
    }

    @Test func quotedScalarsStayStrings() throws {
        let object = try #require(try Self.load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: \"on\", b: '1', c: 1, d: 1.5, e: null, f: 2024-01-01}\n").first?.object)
        #expect(object.raw["data"]?["a"] == .string("on"))
        #expect(object.raw["data"]?["b"] == .string("1"))
        #expect(object.raw["data"]?["c"] == .integer(1))
        #expect(object.raw["data"]?["d"] == .number(1.5))
        #expect(object.raw["data"]?["e"] == .null)
        #expect(object.raw["data"]?["f"] == .string("2024-01-01"))
    }

    @Test func anchorsAndMergeKeys() throws {
        let object = try #require(try Self.load("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: a, labels: &l {app: x}}
            data:
              <<: *l
              own: y
            """).first?.object)
        #expect(object.raw["data"] == .object(["app": .string("x"), "own": .string("y")]))
    }

    @Test func secretStringDataIsMergedOverData() throws {
        let object = try #require(try Self.load("""
            apiVersion: v1
            kind: Secret
            metadata: {name: s}
            type: nginx.org/ca
            data: {ca.crt: \(Data("old".utf8).base64EncodedString()), other: \(Data("x".utf8).base64EncodedString())}
            stringData: {ca.crt: new}
            """).first?.object)
        let secret = SecretView(object)
        #expect(secret.data["ca.crt"] == Array("new".utf8))
        #expect(secret.data["other"] == Array("x".utf8))
    }

    @Test func json() throws {
        let loaded = try Self.load(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}"#, source: "x.json")
        #expect(loaded.map(\.source) == ["x.json#doc1"])
    }

    @Test(arguments: [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkey: [unclosed\n", "m.yaml#doc2"),
        ("apiVersion: v1\nkind: ConfigMap\n---\n- a\n- b\n", "m.yaml#doc2"),
        ("apiVersion: v1\nkind: A\n---\nmetadata: {name: x}\n", "m.yaml#doc2"),
        ("{\"apiVersion\": ", "m.yaml"),
        ("a: b: c", "m.yaml#doc1"),
    ])
    func unparseableDocumentsNameFileAndDocument(text: String, source: String) throws {
        let error = #expect(throws: ManifestError.self) { try Self.load(text) }
        #expect(error?.source == source, "\(String(describing: error))")
        #expect(error?.description.hasPrefix(source + ": ") == true)
    }

    @Test func errorsDoNotEchoTheDocument() throws {
        let error = #expect(throws: ManifestError.self) {
            try Self.load("apiVersion: v1\nkind: Secret\ndata: {tls.key: TOPSECRETVALUE\n")
        }
        #expect(error?.description.contains("TOPSECRETVALUE") == false)
    }

    @Test func directoriesRecursivelyAndStdin() throws {
        let scratch = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("sub/.hidden"), withIntermediateDirectories: true)
        let doc = { (name: String) in "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(name)}\n" }
        try scratch.write("b.yml", doc("b"))
        try scratch.write("sub/a.yaml", doc("a"))
        try scratch.write("c.json", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#)
        try scratch.write("README.md", "not yaml at all: [")
        try scratch.write("sub/.hidden/h.yaml", doc("hidden"))
        let loaded = try ManifestLoader.load(paths: [scratch.url.path, "-"], stdin: { Data(doc("stdin").utf8) })
        #expect(loaded.map(\.object.name) == ["b", "c", "a", "stdin"])
        #expect(loaded.last?.source == "-#doc1")
        #expect(loaded.first?.source == scratch.url.path + "/b.yml#doc1")
    }

    @Test func missingPathIsAnError() {
        let error = #expect(throws: ManifestError.self) { try ManifestLoader.load(paths: ["/no/such/dir"]) }
        #expect(error?.source == "/no/such/dir")
    }

    // MARK: document(from:source:), one document of any shape (check-upstream-ca)

    static func document(_ text: String) throws(ManifestError) -> JSONValue {
        try ManifestLoader.document(from: Data(text.utf8), source: "c.yaml")
    }

    @Test func documentUsesTheManifestScalarRulesAndMergeKeys() throws {
        let value = try Self.document("""
            base: &b {region: r}
            config:
              <<: *b
              enabled: on
              count: 3
            """)
        #expect(value["config"] == .object(["region": .string("r"), "enabled": .bool(true), "count": .integer(3)]))
        #expect(try Self.document(#"["a", 1]"#) == .array([.string("a"), .integer(1)]))
    }

    @Test(arguments: [
        ("key: [unclosed TOPSECRETVALUE\n", "not valid YAML: "),
        ("a: 1\n---\nb: TOPSECRETVALUE\n", "not valid YAML: "),
        ("# TOPSECRETVALUE\n", "empty document"),
        ("x: 1e999\n", "line 1, column 4: "),
        ("{\"token\": TOPSECRETVALUE", "not valid JSON"),
    ])
    func documentErrorsNameThePlaceNotTheText(text: String, reason: String) throws {
        let error = #expect(throws: ManifestError.self) { try Self.document(text) }
        #expect(error?.source == "c.yaml")
        #expect(error?.reason.hasPrefix(reason) == true, "\(String(describing: error))")
        #expect(error?.description.contains("TOPSECRETVALUE") == false)
        #expect(error?.description.contains("1e999") == false)
    }
}
