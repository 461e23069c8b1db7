import Foundation

/// `admission.k8s.io/v1` AdmissionReview, as the API server sends and expects it.
///
/// Incoming reviews are read by `decodeRequest(from:)` (one lenient reader with field-path
/// errors), so the type is only `Encodable`: a second, synthesized decoder would disagree with it.
public struct AdmissionReview: Encodable, Sendable, Equatable {
    public static let apiVersionV1 = "admission.k8s.io/v1"

    public var apiVersion: String
    public var kind: String
    public var request: AdmissionRequest?
    public var response: AdmissionResponse?

    public init(response: AdmissionResponse) {
        self.apiVersion = Self.apiVersionV1
        self.kind = "AdmissionReview"
        self.request = nil
        self.response = response
    }
}

public struct GroupVersionKind: Codable, Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String

    public init(group: String, version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }

    /// `group/version`, or `version` for the core group, as in an object's `apiVersion`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
}

public struct GroupVersionResource: Codable, Sendable, Hashable {
    public var group: String
    public var version: String
    public var resource: String

    public init(group: String, version: String, resource: String) {
        self.group = group
        self.version = version
        self.resource = resource
    }
}

public enum AdmissionOperation: String, Codable, Sendable, Hashable, CaseIterable {
    case create = "CREATE"
    case update = "UPDATE"
    case delete = "DELETE"
    case connect = "CONNECT"
}

public struct UserInfo: Codable, Sendable, Equatable {
    public var username: String?
    public var uid: String?
    public var groups: [String]?
    public var extra: [String: [String]]?

    public init(username: String? = nil, uid: String? = nil, groups: [String]? = nil, extra: [String: [String]]? = nil) {
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }
}

public struct AdmissionRequest: Encodable, Sendable, Equatable {
    public var uid: String
    public var kind: GroupVersionKind
    public var resource: GroupVersionResource
    public var subResource: String?
    public var requestKind: GroupVersionKind?
    public var requestResource: GroupVersionResource?
    public var requestSubResource: String?
    public var name: String?
    public var namespace: String?
    public var operation: AdmissionOperation
    public var userInfo: UserInfo
    /// The object after the change; `null` for DELETE.
    public var object: JSONValue?
    /// The object before the change; set for UPDATE and DELETE.
    public var oldObject: JSONValue?
    public var dryRun: Bool?
    public var options: JSONValue?
    /// `spec.rules` of `object`, when `AdmissionReview.decodeRequest` read them straight into the
    /// view (a `kind` naming Ingress came before `object`, and the rules have the shape the API
    /// server sends): `object` then has no `spec.rules`. Carried to `KubeObject.ingressRules` by
    /// the rule engine; not encoded, so an encoded request lacks them (as it lacks the members
    /// `JSONParser.Retention.admissionReview` drops). Replace it together with `object`.
    public var objectIngressRules: [IngressView.Rule]?

    private enum CodingKeys: String, CodingKey {
        case uid, kind, resource, subResource, requestKind, requestResource, requestSubResource, name, namespace
        case operation, userInfo, object, oldObject, dryRun, options
    }

    public init(
        uid: String, kind: GroupVersionKind, resource: GroupVersionResource, subResource: String? = nil,
        requestKind: GroupVersionKind? = nil, requestResource: GroupVersionResource? = nil,
        requestSubResource: String? = nil, name: String? = nil, namespace: String? = nil, operation: AdmissionOperation,
        userInfo: UserInfo = UserInfo(), object: JSONValue? = nil, oldObject: JSONValue? = nil,
        dryRun: Bool? = nil, options: JSONValue? = nil, objectIngressRules: [IngressView.Rule]? = nil
    ) {
        self.uid = uid
        self.kind = kind
        self.resource = resource
        self.subResource = subResource
        self.requestKind = requestKind
        self.requestResource = requestResource
        self.requestSubResource = requestSubResource
        self.name = name
        self.namespace = namespace
        self.operation = operation
        self.userInfo = userInfo
        self.object = object
        self.oldObject = oldObject
        self.dryRun = dryRun
        self.options = options
        self.objectIngressRules = objectIngressRules
    }

    /// `object` for CREATE/UPDATE; `nil` when the API server sent `null` (DELETE).
    public var currentObject: JSONValue? {
        guard let object, !object.isNull else { return nil }
        return object
    }

    /// `oldObject`, or `nil` when absent or `null`.
    public var previousObject: JSONValue? {
        guard let oldObject, !oldObject.isNull else { return nil }
        return oldObject
    }
}

public struct AdmissionStatus: Codable, Sendable, Equatable {
    public var code: Int?
    public var message: String?
    public var reason: String?
    public var status: String?

    public init(code: Int? = nil, message: String? = nil, reason: String? = nil, status: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status
    }
}

public struct AdmissionResponse: Codable, Sendable, Equatable {
    public var uid: String
    public var allowed: Bool
    public var status: AdmissionStatus?
    public var warnings: [String]?
    public var auditAnnotations: [String: String]?

    public init(uid: String, allowed: Bool, status: AdmissionStatus? = nil, warnings: [String]? = nil,
                auditAnnotations: [String: String]? = nil) {
        self.uid = uid
        self.allowed = allowed
        self.status = status
        self.warnings = warnings
        self.auditAnnotations = auditAnnotations
    }
}

/// Why an AdmissionReview body could not be used; the webhook answers it with HTTP 400.
public struct AdmissionReviewDecodingError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension AdmissionReview {
    /// Decodes and checks an incoming review: `admission.k8s.io/v1`, kind `AdmissionReview`, a request with a uid.
    ///
    /// Parses with `JSONParser` and reads the request by hand: this is the webhook's hot path, and
    /// the messages name the offending field the way the API server's own errors do.
    /// What no rule reads of the objects (`metadata.managedFields`, containers' members other than
    /// `name` and `ports`) is checked but not kept (`JSONParser.Retention.admissionReview`), and
    /// an Ingress's `spec.rules` are read straight into `objectIngressRules` when they have the
    /// usual shape (`JSONParser.parseAdmissionReview`).
    public static func decodeRequest(from data: Data) throws(AdmissionReviewDecodingError) -> AdmissionRequest {
        try decodeRequest(from: data, readingIngressRules: true)
    }

    /// `readingIngressRules: false` keeps an Ingress's `spec.rules` in the tree: the reference the
    /// tests and the AdmissionReview fuzzer hold the direct reading to.
    @_spi(Testing)
    public static func decodeRequest(from data: Data, readingIngressRules: Bool) throws(AdmissionReviewDecodingError) -> AdmissionRequest {
        let result: Result<AdmissionRequest, AdmissionReviewDecodingError> = data.withUnsafeBytes { raw in
            Result { () throws(AdmissionReviewDecodingError) in try decodeRequest(bytes: raw, readingIngressRules: readingIngressRules) }
        }
        return try result.get()
    }

    /// `decodeRequest(from:)` on memory the caller owns, such as a NIO `ByteBuffer`'s readable bytes.
    public static func decodeRequest(bytes: UnsafeRawBufferPointer) throws(AdmissionReviewDecodingError) -> AdmissionRequest {
        try decodeRequest(bytes: bytes, readingIngressRules: true)
    }

    static func decodeRequest(bytes: UnsafeRawBufferPointer, readingIngressRules: Bool) throws(AdmissionReviewDecodingError) -> AdmissionRequest {
        let root: JSONValue
        let ingressRules: [IngressView.Rule]?
        do {
            (root, ingressRules) = try JSONParser.parseAdmissionReview(bytes: bytes, readingIngressRules: readingIngressRules)
        } catch {
            throw AdmissionReviewDecodingError("malformed AdmissionReview: not valid JSON (\(error))")
        }
        guard case .object = root else { throw AdmissionReviewDecodingError("malformed AdmissionReview: expected a JSON object") }
        try checkType(apiVersion: root["apiVersion"]?.stringValue, kind: root["kind"]?.stringValue)
        guard let request = root["request"], !request.isNull else {
            throw AdmissionReviewDecodingError("malformed AdmissionReview: request is missing")
        }
        return try AdmissionRequest(reviewField: request, objectIngressRules: ingressRules)
    }

    private static func checkType(apiVersion: String?, kind: String?) throws(AdmissionReviewDecodingError) {
        guard apiVersion == apiVersionV1 else {
            throw AdmissionReviewDecodingError(
                "unsupported apiVersion \"\((apiVersion ?? "").prefix(64))\": only \(apiVersionV1) is served; set admissionReviewVersions: [\"v1\"] in the webhook configuration")
        }
        guard kind == "AdmissionReview" else {
            throw AdmissionReviewDecodingError("unsupported kind \"\((kind ?? "").prefix(64))\": expected AdmissionReview")
        }
    }
}

extension AdmissionRequest {
    /// Reads `request` of an AdmissionReview; unknown fields are ignored, as the API server's clients do.
    init(reviewField value: JSONValue, objectIngressRules: [IngressView.Rule]? = nil) throws(AdmissionReviewDecodingError) {
        let reader = FieldReader(value: value, path: "request")
        let uid = try reader.requiredString("uid")
        guard !uid.isEmpty else { throw AdmissionReviewDecodingError("malformed AdmissionReview: request.uid is empty") }
        let operationText = try reader.requiredString("operation")
        guard let operation = AdmissionOperation(rawValue: operationText) else {
            throw AdmissionReviewDecodingError(
                "malformed AdmissionReview: request.operation: unsupported value \"\(operationText.prefix(64))\": expected CREATE, UPDATE, DELETE or CONNECT")
        }
        let userInfo = try reader.object("userInfo")
        self.init(
            uid: uid,
            kind: try reader.groupVersionKind("kind", required: true) ?? GroupVersionKind(group: "", version: "", kind: ""),
            resource: try reader.groupVersionResource("resource") ?? GroupVersionResource(group: "", version: "", resource: ""),
            subResource: try reader.string("subResource"),
            requestKind: try reader.groupVersionKind("requestKind", required: false),
            requestResource: try reader.groupVersionResource("requestResource"),
            requestSubResource: try reader.string("requestSubResource"),
            name: try reader.string("name"),
            namespace: try reader.string("namespace"),
            operation: operation,
            userInfo: UserInfo(
                username: try userInfo?.string("username"),
                uid: try userInfo?.string("uid"),
                groups: try userInfo?.strings("groups"),
                extra: try userInfo?.stringLists("extra")),
            object: value["object"],
            oldObject: value["oldObject"],
            dryRun: try reader.bool("dryRun"),
            options: value["options"],
            objectIngressRules: objectIngressRules)
        try Self.checkObjects(value, operation: operation)
    }
}

extension AdmissionRequest {
    /// The object the operation is judged on must be a JSON object: `object` for CREATE and UPDATE,
    /// `oldObject` for DELETE (and `oldObject` of an UPDATE, when sent). Anything else would judge
    /// nothing and allow, so it is refused (HTTP 400) naming the field.
    static func checkObjects(_ request: JSONValue, operation: AdmissionOperation) throws(AdmissionReviewDecodingError) {
        func require(_ key: String, optional: Bool) throws(AdmissionReviewDecodingError) {
            let member = request[key]
            if case .object? = member { return }
            if optional, member == nil || member?.isNull == true { return }
            let found = member.map { $0.isNull ? "null" : $0.typeName } ?? "nothing"
            throw AdmissionReviewDecodingError(
                "malformed AdmissionReview: request.\(key): expected an object for \(operation.rawValue), found \(found)")
        }
        switch operation {
        case .create: try require("object", optional: false)
        case .update:
            try require("object", optional: false)
            try require("oldObject", optional: true)
        case .delete: try require("oldObject", optional: false)
        case .connect: break
        }
    }
}

/// Typed reads of one JSON object's members, with errors naming the member's path.
private struct FieldReader {
    let value: JSONValue
    /// The path of the object read, as its parent's path and its own name: the `parent.name` join
    /// is made only for an error (a nested reader's parent is rendered when the reader is made).
    let parent: String
    let name: String?

    init(value: JSONValue, path: String) {
        self.init(value: value, parent: path, name: nil)
    }

    private init(value: JSONValue, parent: String, name: String?) {
        self.value = value
        self.parent = parent
        self.name = name
    }

    var path: String { name.map { "\(parent).\($0)" } ?? parent }

    private func mismatch(_ key: String, _ expected: String) -> AdmissionReviewDecodingError {
        AdmissionReviewDecodingError("malformed AdmissionReview: \(path).\(key): expected \(expected), found \(value[key]?.typeName ?? "nothing")")
    }

    /// The member, or nil when absent or null.
    private func member(_ key: String) -> JSONValue? {
        guard let member = value[key], !member.isNull else { return nil }
        return member
    }

    func string(_ key: String) throws(AdmissionReviewDecodingError) -> String? {
        guard let member = member(key) else { return nil }
        guard let string = member.stringValue else { throw mismatch(key, "a string") }
        return string
    }

    func requiredString(_ key: String) throws(AdmissionReviewDecodingError) -> String {
        guard let string = try string(key) else {
            throw AdmissionReviewDecodingError("malformed AdmissionReview: \(path).\(key) is required")
        }
        return string
    }

    func bool(_ key: String) throws(AdmissionReviewDecodingError) -> Bool? {
        guard let member = member(key) else { return nil }
        guard let bool = member.boolValue else { throw mismatch(key, "a boolean") }
        return bool
    }

    func object(_ key: String) throws(AdmissionReviewDecodingError) -> FieldReader? {
        guard let member = member(key) else { return nil }
        guard case .object = member else { throw mismatch(key, "an object") }
        return FieldReader(value: member, parent: path, name: key)
    }

    func strings(_ key: String) throws(AdmissionReviewDecodingError) -> [String]? {
        guard let member = member(key) else { return nil }
        guard let array = member.arrayValue else { throw mismatch(key, "an array of strings") }
        var out: [String] = []
        for element in array {
            guard let string = element.stringValue else { throw mismatch(key, "an array of strings") }
            out.append(string)
        }
        return out
    }

    func stringLists(_ key: String) throws(AdmissionReviewDecodingError) -> [String: [String]]? {
        guard let reader = try object(key), let members = reader.value.objectValue else { return nil }
        var out: [String: [String]] = [:]
        for name in members.keys { out[name] = try reader.strings(name) ?? [] }
        return out
    }

    func groupVersionKind(_ key: String, required: Bool) throws(AdmissionReviewDecodingError) -> GroupVersionKind? {
        guard let reader = try object(key) else {
            if required { throw AdmissionReviewDecodingError("malformed AdmissionReview: \(path).\(key) is required") }
            return nil
        }
        return GroupVersionKind(group: try reader.string("group") ?? "", version: try reader.requiredString("version"),
                                kind: try reader.requiredString("kind"))
    }

    func groupVersionResource(_ key: String) throws(AdmissionReviewDecodingError) -> GroupVersionResource? {
        guard let reader = try object(key) else { return nil }
        return GroupVersionResource(group: try reader.string("group") ?? "", version: try reader.string("version") ?? "",
                                    resource: try reader.string("resource") ?? "")
    }
}
