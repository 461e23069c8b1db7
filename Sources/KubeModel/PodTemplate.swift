import Foundation

/// The pod (template) of a Pod or of a workload that creates pods, as the mesh rules read it.
///
/// Tolerant like every view: a field of the wrong type does not fail the view; it is recorded in
/// `typeErrors` with its location, and the rule that needed the field reports it there.
public struct PodTemplateView: Sendable, Hashable {
    /// One step of a location inside the object: `.field("spec")`, `.index(0)`, `.key("app")`.
    ///
    /// KubeModel has no `FieldPath` (that lives in Rules); rules turn these into one.
    public enum PathSegment: Sendable, Hashable {
        /// An object member, rendered `.name`.
        case field(String)
        /// An array element, rendered `[index]`.
        case index(Int)
        /// A map entry such as an annotation, rendered `[key]`.
        case key(String)
    }

    /// A field that exists but has the wrong JSON type.
    public struct TypeError: Sendable, Hashable {
        /// Where the field is, from the object root.
        public var path: [PathSegment]
        /// The JSON type Kubernetes defines for it (`object`, `array`, `string`, ...).
        public var expected: String
        /// The JSON type found.
        public var found: String
        /// Which part of the template the field belongs to: rules only report what they read.
        public var area: Area

        public init(path: [PathSegment], expected: String, found: String, area: Area) {
            self.path = path
            self.expected = expected
            self.found = found
            self.area = area
        }
    }

    /// The part of a pod template a type error sits in.
    public enum Area: Sendable, Hashable {
        /// The template itself, its metadata or its annotations: whatever annotation rules read.
        case metadata
        /// The pod spec, its container lists, ports and protocols.
        case spec
    }

    /// A container port (`spec.containers[i].ports[j]`).
    public struct Port: Sendable, Hashable {
        /// Position in the container's `ports`.
        public var index: Int
        public var name: String?
        public var containerPort: Int64?
        /// `protocol` as written; Kubernetes defaults it to `TCP`.
        public var protocolName: String

        public init(index: Int, name: String? = nil, containerPort: Int64? = nil, protocolName: String = "TCP") {
            self.index = index
            self.name = name
            self.containerPort = containerPort
            self.protocolName = protocolName
        }
    }

    /// A container of `containers` or `initContainers`.
    public struct Container: Sendable, Hashable {
        /// `containers` or `initContainers`.
        public var list: String
        /// Position in that list.
        public var index: Int
        public var name: String?
        public var ports: [Port]

        public init(list: String, index: Int, name: String? = nil, ports: [Port] = []) {
            self.list = list
            self.index = index
            self.name = name
            self.ports = ports
        }
    }

    /// Whether `key` is a container list of a pod spec (the lists `readPod` walks).
    @inline(__always)
    static func isContainerList(_ key: String) -> Bool {
        JSONObject.sameName(key, "initContainers") || JSONObject.sameName(key, "containers")
    }

    /// Whether `key` is a member of a container this view reads (`readContainer`). A webhook
    /// review keeps nothing else of a container (`JSONParser.Retention.admissionReview`):
    /// reading another member means naming it here.
    @inline(__always)
    static func readsContainerMember(_ key: String) -> Bool {
        JSONObject.sameName(key, "name") || JSONObject.sameName(key, "ports")
    }

    /// Which group owns each kind with a pod template; a same-named kind of another group (a CRD) is not a workload.
    public static let workloadGroups: [String: Set<String>] = [
        "Pod": [""],
        "ReplicationController": [""],
        "Deployment": ["apps", "extensions"],
        "StatefulSet": ["apps"],
        "DaemonSet": ["apps", "extensions"],
        "ReplicaSet": ["apps", "extensions"],
        "Job": ["batch"],
        "CronJob": ["batch"],
    ]

    /// The object's kind.
    public var kind: String
    /// From the object root to the template (`spec.template`, `spec.jobTemplate.spec.template`); empty for a Pod,
    /// whose own `metadata` and `spec` are the pod's.
    public var templatePath: [PathSegment]
    /// The pod's metadata (the template's for workloads).
    public var metadata: ObjectMeta
    /// Every container of `initContainers` then `containers`, in order.
    public var containers: [Container]
    /// Fields of the template found with the wrong type.
    public var typeErrors: [TypeError]
    /// Metadata of an object between the workload and its pods (the workload itself; for a CronJob also
    /// `spec.jobTemplate`): pod annotations placed there have no effect on the pods.
    public struct EnclosingMetadata: Sendable, Hashable {
        /// Where this `metadata` is, from the object root.
        public var path: [PathSegment]
        public var metadata: ObjectMeta
    }
    /// Empty for a Pod.
    public var enclosing: [EnclosingMetadata]

    /// The pod view of `object`, or `nil` when its kind has no pod template (or is not in the group that defines one).
    public init?(_ object: KubeObject) {
        guard let groups = Self.workloadGroups[object.kind], groups.contains(object.group) else { return nil }
        kind = object.kind
        typeErrors = []
        containers = []
        enclosing = []
        metadata = ObjectMeta()

        switch object.kind {
        case "Pod":
            templatePath = []
            // A Pod's own metadata is the pod's: the whole object is the "template".
            readPod(object.raw, at: [])
            return
        case "CronJob":
            templatePath = [.field("spec"), .field("jobTemplate"), .field("spec"), .field("template")]
            enclosing.append(EnclosingMetadata(path: [.field("metadata")], metadata: object.metadata))
            if let jobTemplate = object.raw["spec"]?["jobTemplate"], jobTemplate.objectValue != nil {
                enclosing.append(EnclosingMetadata(path: [.field("spec"), .field("jobTemplate"), .field("metadata")],
                                           metadata: ObjectMeta(jobTemplate["metadata"])))
            }
        default:
            templatePath = [.field("spec"), .field("template")]
            enclosing.append(EnclosingMetadata(path: [.field("metadata")], metadata: object.metadata))
        }

        // Walk down to the template, noting the first level that has the wrong type.
        var node: JSONValue? = object.raw
        var walked: [PathSegment] = []
        for segment in templatePath {
            guard case .field(let name) = segment, let current = node else { break }
            walked.append(segment)
            let next = current[name]
            if let next, next.objectValue == nil, !next.isNull {
                typeErrors.append(TypeError(path: walked, expected: "object", found: next.typeName, area: .metadata))
                node = nil
                break
            }
            node = next
        }
        if let template = node, !template.isNull {
            readPod(template, at: templatePath)
        }
    }

    /// Reads `metadata` and `spec` of a pod (or pod template) found at `base`.
    ///
    /// Locations are built only for a type error: the well-formed template (nearly every one)
    /// needs none, and building them per container and port was a tenth of a workload's review.
    private mutating func readPod(_ pod: JSONValue, at base: [PathSegment]) {
        if let meta = pod["metadata"], !meta.isNull {
            if meta.objectValue == nil {
                typeErrors.append(TypeError(path: base + [.field("metadata")], expected: "object", found: meta.typeName, area: .metadata))
            } else if let annotations = meta["annotations"], !annotations.isNull, annotations.objectValue == nil {
                typeErrors.append(TypeError(path: base + [.field("metadata"), .field("annotations")], expected: "object",
                                            found: annotations.typeName, area: .metadata))
            }
            metadata = ObjectMeta(meta.objectValue == nil ? nil : meta)
        }

        guard let spec = pod["spec"], !spec.isNull else { return }
        guard spec.objectValue != nil else {
            typeErrors.append(TypeError(path: base + [.field("spec")], expected: "object", found: spec.typeName, area: .spec))
            return
        }
        // Init containers first: that is the order in which Kubernetes starts them.
        for list in ["initContainers", "containers"] {
            guard let value = spec[list], !value.isNull else { continue }
            guard let items = value.arrayValue else {
                typeErrors.append(TypeError(path: base + [.field("spec"), .field(list)], expected: "array", found: value.typeName, area: .spec))
                continue
            }
            for (index, item) in items.enumerated() {
                readContainer(item, list: list, index: index, base: base)
            }
        }
    }

    /// Reads the container `spec.<list>[index]` of the pod at `base`.
    private mutating func readContainer(_ item: JSONValue, list: String, index: Int, base: [PathSegment]) {
        func path(_ rest: PathSegment...) -> [PathSegment] {
            base + [.field("spec"), .field(list), .index(index)] + rest
        }
        guard item.objectValue != nil else {
            typeErrors.append(TypeError(path: path(), expected: "object", found: item.typeName, area: .spec))
            return
        }
        // The members read here are those `readsContainerMember` names.
        var container = Container(list: list, index: index, name: item["name"]?.stringValue)
        if let ports = item["ports"], !ports.isNull {
            if let elements = ports.arrayValue {
                container.ports.reserveCapacity(elements.count)
                for (portIndex, port) in elements.enumerated() {
                    guard port.objectValue != nil else {
                        typeErrors.append(TypeError(path: path(.field("ports"), .index(portIndex)), expected: "object",
                                                    found: port.typeName, area: .spec))
                        continue
                    }
                    var view = Port(index: portIndex, name: port["name"]?.stringValue,
                                    containerPort: port["containerPort"]?.integerValue)
                    if let proto = port["protocol"], !proto.isNull {
                        if let text = proto.stringValue {
                            view.protocolName = text
                        } else {
                            typeErrors.append(TypeError(path: path(.field("ports"), .index(portIndex), .field("protocol")),
                                                        expected: "string", found: proto.typeName, area: .spec))
                        }
                    }
                    container.ports.append(view)
                }
            } else {
                typeErrors.append(TypeError(path: path(.field("ports")), expected: "array", found: ports.typeName, area: .spec))
            }
        }
        containers.append(container)
    }
}
