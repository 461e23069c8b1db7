import Foundation

/// A `networking.k8s.io/v1` Ingress as the mTLS rules read it.
public struct IngressView: Sendable, Hashable {
    /// The pre-IngressClass annotation NIC still honours.
    public static let classAnnotation = "kubernetes.io/ingress.class"

    /// One backend reference (`spec.rules[i].http.paths[j].backend` or `spec.defaultBackend`).
    public struct Backend: Sendable, Hashable {
        /// `service.name`; `nil` for a `resource` backend.
        public var serviceName: String?
        /// Where the backend is: `nil` for `spec.defaultBackend`, else its rule and path indices.
        var position: Position?

        struct Position: Sendable, Hashable {
            var rule: Int
            var path: Int
        }

        /// Rendered path of the backend, for messages; rendered only when asked (a finding names
        /// it), not for every backend of every review.
        public var path: String {
            guard let position else { return "spec.defaultBackend" }
            return "spec.rules[\(position.rule)].http.paths[\(position.path)].backend"
        }
    }

    /// One entry of `spec.rules`.
    public struct Rule: Sendable, Hashable {
        public var host: String?
        /// `http` is present (a master of a mergeable Ingress must not have it populated).
        public var hasHTTP: Bool
        public var paths: [Path]
    }

    /// One entry of `spec.rules[i].http.paths`.
    public struct Path: Sendable, Hashable {
        public var path: String?
        public var backend: Backend
    }

    /// One entry of `spec.tls`.
    public struct TLS: Sendable, Hashable {
        public var hosts: [String]
        public var secretName: FieldValue<String>
    }

    public var metadata: ObjectMeta
    public var ingressClassName: String?
    public var rules: [Rule]
    public var tls: [TLS]
    /// `spec.tls` is present (possibly empty).
    public var hasTLSField: Bool
    public var defaultBackend: Backend?
    public var shapeProblems: [ShapeProblem]

    public init(_ object: KubeObject) {
        metadata = object.metadata
        var reader = ShapeReader()
        let spec = reader.object(object.raw["spec"], at: "spec") ?? [:]
        ingressClassName = spec["ingressClassName"]?.stringValue
        if let backend = reader.object(spec["defaultBackend"], at: "spec.defaultBackend") {
            defaultBackend = Self.backend(backend, at: nil, reader: &reader)
        }
        if let read = object.ingressRules {
            rules = read
        } else {
            rules = Self.rules(spec, reader: &reader)
        }
        hasTLSField = spec["tls"].map { !$0.isNull } ?? false
        tls = reader.array(spec["tls"], at: "spec.tls").enumerated().map { index, raw in
            let entry = reader.element(raw, at: "spec.tls[\(index)]")
            let hosts = reader.array(entry["hosts"], at: "spec.tls[\(index)].hosts").compactMap(\.stringValue)
            return TLS(hosts: hosts, secretName: FieldValue(string: entry["secretName"]))
        }
        shapeProblems = reader.problems
    }

    /// `spec.rules` read from the tree. `JSONParser.readIngressRules` reads the same from the bytes
    /// of a review: a change here is a change there.
    private static func rules(_ spec: JSONObject, reader: inout ShapeReader) -> [Rule] {
        reader.array(spec["rules"], at: "spec.rules").enumerated().map { index, raw in
            let rule = reader.element(raw, at: "spec.rules[\(index)]")
            let http = reader.object(rule["http"], at: "spec.rules[\(index)].http")
            let paths = reader.array(http?["paths"], at: "spec.rules[\(index)].http.paths").enumerated().map { pathIndex, rawPath in
                let entry = reader.element(rawPath, at: "spec.rules[\(index)].http.paths[\(pathIndex)]")
                return Path(path: entry["path"]?.stringValue,
                            backend: Self.backend(entry["backend"], at: Backend.Position(rule: index, path: pathIndex), reader: &reader))
            }
            return Rule(host: rule["host"]?.stringValue, hasHTTP: http != nil, paths: paths)
        }
    }

    private static func backend(_ members: JSONObject, at position: Backend.Position?, reader: inout ShapeReader) -> Backend {
        var backend = Backend(serviceName: nil, position: position)
        let service = reader.object(members["service"], at: "\(backend.path).service")
        backend.serviceName = service?["name"]?.stringValue
        return backend
    }

    private static func backend(_ raw: JSONValue?, at position: Backend.Position, reader: inout ShapeReader) -> Backend {
        let members = reader.object(raw, at: Backend(serviceName: nil, position: position).path) ?? [:]
        return backend(members, at: position, reader: &reader)
    }

    public var namespace: String { metadata.namespace ?? "default" }
    public var name: String { metadata.name ?? "" }
    public var annotations: [String: String] { metadata.annotations }

    /// The class this Ingress asks for; `nil` when neither is set. As in NIC's `HasCorrectIngressClass`, the
    /// legacy annotation, when non-empty, takes precedence over `spec.ingressClassName`.
    public var ingressClass: String? { Self.ingressClass(of: metadata, ingressClassName: ingressClassName) }

    /// `ingressClass` of `object` read without building the whole view (the class decides whether
    /// an Ingress is judged at all).
    public static func ingressClass(of object: KubeObject) -> String? {
        ingressClass(of: object.metadata, ingressClassName: object.raw["spec"]?["ingressClassName"]?.stringValue)
    }

    private static func ingressClass(of metadata: ObjectMeta, ingressClassName: String?) -> String? {
        if let annotation = metadata.annotations[classAnnotation], !annotation.isEmpty { return annotation }
        return ingressClassName.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Every backend, `spec.defaultBackend` first, in document order.
    public var backends: [Backend] {
        (defaultBackend.map { [$0] } ?? []) + rules.flatMap { $0.paths.map(\.backend) }
    }

    /// Distinct service names of all backends, in first-seen order.
    public var backendServiceNames: [String] {
        var names = DistinctList<String>()
        if let name = defaultBackend?.serviceName { names.insert(name) }
        for rule in rules {
            for path in rule.paths {
                if let name = path.backend.serviceName { names.insert(name) }
            }
        }
        return names.elements
    }
}
