import Foundation

/// The metadata every rule reads. Decoded tolerantly: a value of the wrong type is kept aside
/// (`malformedAnnotations`) so a rule can report it at its path instead of failing the object.
public struct ObjectMeta: Sendable, Hashable {
    public var name: String?
    public var namespace: String?
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Annotation entries whose value is not a string (`nginx.org/policies: 1`).
    public var malformedAnnotations: [String: JSONValue]

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String] = [:],
                annotations: [String: String] = [:], malformedAnnotations: [String: JSONValue] = [:]) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.malformedAnnotations = malformedAnnotations
    }

    public init(_ value: JSONValue?) {
        self.init()
        guard let value else { return }
        name = value["name"]?.stringValue
        namespace = value["namespace"]?.stringValue
        // Sized once: growing a dictionary entry by entry rehashed it at each doubling.
        if let members = value["labels"]?.objectValue {
            labels.reserveCapacity(members.count)
            for (k, v) in members {
                if let s = v.stringValue { labels[k] = s }
            }
        }
        if let members = value["annotations"]?.objectValue {
            annotations.reserveCapacity(members.count)
            for (k, v) in members {
                if let s = v.stringValue { annotations[k] = s } else { malformedAnnotations[k] = v }
            }
        }
    }
}

/// Any Kubernetes object: its type, metadata, and the raw document the typed views read from.
public struct KubeObject: Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var raw: JSONValue
    /// `spec.rules` of an Ingress under review, when the webhook's parser read them straight into
    /// the view (`AdmissionRequest.objectIngressRules`): `raw` then has no `spec.rules`, and
    /// `IngressView` reads these. `nil` for every other object (and for every object not decoded
    /// from an AdmissionReview). Set together with `raw`: replacing one alone leaves them apart.
    public var ingressRules: [IngressView.Rule]?

    /// `nil` when `value` is not an object with string `apiVersion` and `kind`.
    public init?(_ value: JSONValue) {
        guard case .object = value,
              let apiVersion = value["apiVersion"]?.stringValue,
              let kind = value["kind"]?.stringValue
        else { return nil }
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = ObjectMeta(value["metadata"])
        self.raw = value
        self.ingressRules = nil
    }

    /// The API group (`k8s.nginx.org`), empty for the core group.
    public var group: String {
        // A byte search: `firstIndex(of: Character)` compares grapheme clusters, thousands of
        // instructions for a short string, and this runs for every object of every review.
        guard let slash = apiVersion.utf8.firstIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(apiVersion[..<slash])
    }

    /// The API version without its group (`v1`): the last non-empty `/`-separated part, by bytes.
    public var version: String {
        var end = apiVersion.utf8.endIndex
        while end > apiVersion.utf8.startIndex, apiVersion.utf8[apiVersion.utf8.index(before: end)] == UInt8(ascii: "/") {
            end = apiVersion.utf8.index(before: end)
        }
        let start = apiVersion.utf8[..<end].lastIndex(of: UInt8(ascii: "/")).map { apiVersion.utf8.index(after: $0) } ?? apiVersion.startIndex
        return String(apiVersion[start..<end])
    }

    public var name: String { metadata.name ?? "" }
}
