import Foundation
import KubeModel
import Testing
@testable import Rules

private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The webhook decodes an Ingress review without each path's `pathType` and each backend's
/// `service.port` (`JSONParser.Retention.admissionReview`). These tests hold that to what matters:
/// for every Ingress of `examples/` and for malformed shapes, the rules find exactly what they find
/// on the object parsed whole, against a view where its references resolve and one where they do
/// not; the dropped members are gone only from Ingresses; what is dropped is still validated.
@Suite struct IngressRetentionTests {
    static func reviewText(_ object: JSONValue, operation: String, kindFirst: Bool = true,
                           group: String = "networking.k8s.io") throws -> String {
        let text = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
        let old = operation == "UPDATE" ? text : "null"
        let kind = #""kind":{"group":"\#(group)","version":"v1","kind":"Ingress"}"#
        let objects = #""object":\#(text),"oldObject":\#(old)"#
        let members = kindFirst ? "\(kind),\(objects)" : "\(objects),\(kind)"
        return #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",\#(members),"namespace":"cafe","name":"x","operation":"\#(operation)"}}"#
    }

    /// Every Ingress of examples/good and examples/broken, and shapes the rules report.
    static func ingresses() throws -> [JSONValue] {
        let loaded = try ManifestLoader.load(paths: [packageRoot.appendingPathComponent("examples/good").path,
                                                     packageRoot.appendingPathComponent("examples/broken").path])
        var found = loaded.map(\.object).filter { $0.kind == "Ingress" }.map(\.raw)
        #expect(found.count >= 5)
        let path: JSONValue = .object(["path": .string("/"), "pathType": .string("Prefix"),
                                       "backend": .object(["service": .object(["name": .string("coffee-svc"), "port": .object(["number": .integer(80)])])])])
        let shapes: [JSONValue] = [
            .array([path, .string("not a path")]),
            .array([.object(["path": .integer(1), "pathType": .integer(2), "backend": .string("svc")])]),
            .array([.object(["backend": .object(["service": .string("svc")])])]),
            .array([.object(["backend": .object(["service": .object(["name": .integer(7), "port": .string("http")])])])]),
            .array([.object(["backend": .object(["resource": .object(["kind": .string("Bucket"), "name": .string("b")])])])]),
            .object(["not": .string("an array")]),
        ]
        for paths in shapes {
            found.append(.object([
                "apiVersion": .string("networking.k8s.io/v1"), "kind": .string("Ingress"),
                "metadata": .object(["name": .string("shape"), "namespace": .string("cafe"),
                                     "annotations": .object(["nginx.org/policies": .string("ingress-mtls-policy"),
                                                             "nginx.org/ssl-services": .string("coffee-svc")])]),
                "spec": .object([
                    "ingressClassName": .string("nginx"),
                    "defaultBackend": .object(["service": .object(["name": .string("tea-svc"), "port": .object(["name": .string("https")])])]),
                    "rules": .array([.object(["host": .string("cafe.example.com"), "http": .object(["paths": paths])]), .string("not a rule")]),
                ]),
            ]))
        }
        return found
    }

    @Test func sameFindingsAsTheWholeObject() throws {
        let good = try ManifestLoader.load(paths: [packageRoot.appendingPathComponent("examples/good").path])
        let views: [InMemorySnapshot?] = [InMemorySnapshot(objects: good.map(\.object)), InMemorySnapshot(objects: []), nil]
        var fired = 0
        for ingress in try Self.ingresses() {
            for operation in ["CREATE", "UPDATE"] {
                let text = try Self.reviewText(ingress, operation: operation)
                let retained = try AdmissionReview.decodeRequest(from: Data(text.utf8))
                let whole = try JSONParser.parse(Data(text.utf8))["request"]
                let wholeInput = ReviewInput(operation: retained.operation, kind: retained.kind, namespace: "cafe", name: "x",
                                             object: whole?["object"], oldObject: operation == "UPDATE" ? whole?["oldObject"] : nil)
                for view in views {
                    let settings = Settings(now: Date(timeIntervalSince1970: 1_800_000_000))
                    let expected = RuleEngine.evaluate(wholeInput, snapshot: view, settings: settings)
                    #expect(RuleEngine.evaluate(ReviewInput(retained), snapshot: view, settings: settings) == expected,
                            "\(ingress["metadata"]?["name"] ?? .null) \(operation)")
                    fired += expected.findings.count
                }
                // The view as the engine builds it: from `spec.rules` read straight from the bytes, when they were.
                let retainedObject = try #require(ReviewInput(retained).subject)
                let wholeObject = try #require(wholeInput.subject)
                #expect(IngressView(retainedObject) == IngressView(wholeObject))
            }
        }
        #expect(fired > 20, "the examples make the rules fire")
    }

    @Test func pathTypeAndPortAreDroppedFromIngressesOnly() throws {
        let ingress = try #require(try Self.ingresses().last)
        func paths(_ object: JSONValue?) -> [JSONValue] { object?["spec"]?["rules"]?[0]?["http"]?["paths"]?.arrayValue ?? [] }

        let retained = try AdmissionReview.decodeRequest(from: Data(try Self.reviewText(ingress, operation: "UPDATE").utf8))
        for object in [retained.object, retained.oldObject] {
            #expect(object?["spec"]?["defaultBackend"]?["service"]?["port"] == nil)
            #expect(object?["spec"]?["defaultBackend"]?["service"]?["name"] == .string("tea-svc"))
        }
        let shaped = try #require(try Self.ingresses().dropLast(5).last)  // the first shape: a path and a string
        let kept = try AdmissionReview.decodeRequest(from: Data(try Self.reviewText(shaped, operation: "CREATE").utf8))
        let path = try #require(paths(kept.object).first)
        #expect(path["pathType"] == nil && path["backend"]?["service"]?["port"] == nil)
        #expect(path["path"] == .string("/") && path["backend"]?["service"]?["name"] == .string("coffee-svc"))
        #expect(paths(kept.object).last == .string("not a path"))

        // Another group's Ingress, or a request whose kind comes after the objects: kept whole.
        for text in [try Self.reviewText(shaped, operation: "CREATE", group: "example.com"),
                     try Self.reviewText(shaped, operation: "CREATE", kindFirst: false)] {
            let whole = try AdmissionReview.decodeRequest(from: Data(text.utf8))
            let first = try #require(paths(whole.object).first)
            #expect(first["pathType"] == .string("Prefix"))
            #expect(first["backend"]?["service"]?["port"]?["number"] == .integer(80))
        }
    }

    @Test(arguments: [#""Pre\u00"#, "\"a\u{01}\"", "tru", #"{"number":01}"#, #"{"number":80,}"#, #"{"a" 1}"#])
    func droppedValuesAreStillValidated(broken: String) {
        for (member, value) in [("pathType", broken), ("port", broken)] {
            let service = member == "port" ? #"{"name":"s","port":\#(value)}"# : #"{"name":"s"}"#
            let pathType = member == "pathType" ? #","pathType":\#(value)"# : ""
            let object = #"{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"x"},"spec":{"rules":[{"http":{"paths":[{"path":"/"\#(pathType),"backend":{"service":\#(service)}}]}}]}}"#
            let text = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"networking.k8s.io","version":"v1","kind":"Ingress"},"operation":"CREATE","object":\#(object)}}"#
            #expect(throws: AdmissionReviewDecodingError.self, "\(member): \(value)") {
                try AdmissionReview.decodeRequest(from: Data(text.utf8))
            }
        }
    }
}
