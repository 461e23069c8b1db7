import Foundation

/// `admission.k8s.io/v1` AdmissionReview, as the API server sends and expects it.
///
/// Only `request` is read from an incoming review and only `response` is written back; the type
/// carries both so one value can be decoded, answered and encoded.
public struct AdmissionReview: Codable, Sendable, Equatable {
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

public struct AdmissionRequest: Codable, Sendable, Equatable {
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

    public init(
        uid: String, kind: GroupVersionKind, resource: GroupVersionResource, subResource: String? = nil,
        requestKind: GroupVersionKind? = nil, requestResource: GroupVersionResource? = nil,
        name: String? = nil, namespace: String? = nil, operation: AdmissionOperation,
        userInfo: UserInfo = UserInfo(), object: JSONValue? = nil, oldObject: JSONValue? = nil,
        dryRun: Bool? = nil, options: JSONValue? = nil
    ) {
        self.uid = uid
        self.kind = kind
        self.resource = resource
        self.subResource = subResource
        self.requestKind = requestKind
        self.requestResource = requestResource
        self.name = name
        self.namespace = namespace
        self.operation = operation
        self.userInfo = userInfo
        self.object = object
        self.oldObject = oldObject
        self.dryRun = dryRun
        self.options = options
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
    public static func decodeRequest(from data: Data) throws(AdmissionReviewDecodingError) -> AdmissionRequest {
        let review: AdmissionReview
        do {
            review = try JSONDecoder().decode(AdmissionReview.self, from: data)
        } catch let error as DecodingError {
            // A v1beta1 review fails on v1's required fields; name the version, which is the real problem.
            if let header = try? JSONDecoder().decode(TypeHeader.self, from: data) {
                try checkType(apiVersion: header.apiVersion, kind: header.kind)
            }
            throw AdmissionReviewDecodingError("malformed AdmissionReview: \(Self.describe(error))")
        } catch {
            throw AdmissionReviewDecodingError("malformed AdmissionReview: not valid JSON")
        }
        try checkType(apiVersion: review.apiVersion, kind: review.kind)
        guard let request = review.request else {
            throw AdmissionReviewDecodingError("malformed AdmissionReview: request is missing")
        }
        guard !request.uid.isEmpty else {
            throw AdmissionReviewDecodingError("malformed AdmissionReview: request.uid is empty")
        }
        return request
    }

    private struct TypeHeader: Decodable {
        var apiVersion: String?
        var kind: String?
    }

    private static func checkType(apiVersion: String?, kind: String?) throws(AdmissionReviewDecodingError) {
        guard apiVersion == apiVersionV1 else {
            throw AdmissionReviewDecodingError(
                "unsupported apiVersion \"\(apiVersion ?? "")\": only \(apiVersionV1) is served; set admissionReviewVersions: [\"v1\"] in the webhook configuration")
        }
        guard kind == "AdmissionReview" else {
            throw AdmissionReviewDecodingError("unsupported kind \"\(kind ?? "")\": expected AdmissionReview")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.hasPrefix(".") ? String(p.dropFirst()) : (p.isEmpty ? "<root>" : p)
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent == "<root>" ? "" : parent + ".")\(key.stringValue) is required"
        case .typeMismatch(let type, let context):
            return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)): invalid value"
        @unknown default:
            return "invalid document"
        }
    }
}
