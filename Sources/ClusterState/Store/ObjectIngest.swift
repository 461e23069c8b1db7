import KubeModel
import Rules

/// What happens to an object between the API server and the store: fields no rule reads are
/// dropped (`managedFields`, the last-applied annotation, `status`, Secret data other than
/// `ca.crt`, `ca.crl`, `tls.crt`), a Secret's content verdict is computed once, and the private
/// key of a TLS Secret is discarded right after: no key material stays in memory.
enum ObjectIngest {
    static let keptSecretData: Set<String> = ["ca.crt", "ca.crl", "tls.crt"]
    static let lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

    /// The stored form of `value`, an item of `source`; `nil` when it is not an object of it.
    /// List items lack `apiVersion` and `kind`: they are filled in from the source.
    static func stored(_ value: JSONValue, source: WatchSource) -> StoredObject? {
        guard case .object(var members) = value else { return nil }
        if members["apiVersion"]?.stringValue == nil {
            members["apiVersion"] = .string(source.group.isEmpty ? source.version : "\(source.group)/\(source.version)")
        }
        if members["kind"]?.stringValue == nil { members["kind"] = .string(source.kind) }
        if case .object(var metadata)? = members["metadata"] {
            metadata["managedFields"] = nil
            if case .object(var annotations)? = metadata["annotations"] {
                annotations[lastApplied] = nil
                metadata["annotations"] = .object(annotations)
            }
            members["metadata"] = .object(metadata)
        }
        members["status"] = nil
        if source == .namespaces {
            // Only the labels are read (the review mode of the namespace).
            members = members.filter { ["apiVersion", "kind", "metadata"].contains($0.key) }
            if case .object(let metadata)? = members["metadata"] {
                members["metadata"] = .object(metadata.filter { ["name", "labels", "resourceVersion", "uid"].contains($0.key) })
            }
        }
        guard let full = KubeObject(.object(members)), full.metadata.name?.isEmpty == false else { return nil }
        let isSecret = source == .caSecrets || source == .tlsSecrets
        var contentFailures: [Finding]?
        if isSecret {
            // The only moment the private key is read: its verdict is all that is kept.
            contentFailures = ReferenceIndex.contentFailures(ofSecret: full)
            if case .object(let data)? = members["data"] {
                members["data"] = .object(data.filter { keptSecretData.contains($0.key) })
            }
            members["stringData"] = nil
        }
        guard let object = isSecret ? KubeObject(.object(members)) : full else { return nil }
        let key = ObjectKey(namespace: source.isNamespaced ? object.metadata.namespace ?? "default" : "", name: object.name)
        return StoredObject(
            object: object, key: key, source: source,
            resourceVersion: object.raw["metadata"]?["resourceVersion"]?.stringValue,
            policyReferences: ReferenceIndex.policies(of: object),
            secretReferences: ReferenceIndex.secrets(of: object),
            contentFailures: contentFailures,
            policyVerdict: source == .policies ? PolicyVerdict(object) : nil)
    }

    /// A Secret of a type the live view does not watch, found by a read-through GET: only its
    /// identity and type are kept (enough to say it has the wrong type), never its data.
    static func typeOnlySecret(_ value: JSONValue) -> StoredObject? {
        guard case .object(let members) = value, let metadata = members["metadata"]?.objectValue else { return nil }
        var kept: JSONObject = ["apiVersion": .string("v1"), "kind": .string("Secret"), "type": members["type"] ?? .string("Opaque")]
        kept["metadata"] = .object(metadata.filter { ["name", "namespace", "resourceVersion", "uid"].contains($0.key) })
        guard let object = KubeObject(.object(kept)), !object.name.isEmpty else { return nil }
        return StoredObject(object: object, key: ObjectKey(namespace: object.metadata.namespace ?? "default", name: object.name),
                            source: .caSecrets, resourceVersion: nil, policyReferences: [], secretReferences: [], contentFailures: nil,
                            policyVerdict: nil)
    }
}
