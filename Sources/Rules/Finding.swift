import Foundation
import KubeModel

/// How a finding affects admission (docs/rules.md, "Severity").
public enum Severity: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
    /// The object would be rejected by NIC, break NGINX, or silently weaken mTLS.
    case deny
    /// Accepted by NIC but almost certainly not what was meant. Never denies.
    case warn

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        lhs == .deny && rhs == .warn
    }
}

/// A rule's stable identifier, exactly as `RuleCatalogue` lists it (`ingress-mtls/verify-client`).
public struct RuleID: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: RuleID, rhs: RuleID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A path to a field of a Kubernetes object, rendered like `k8s.io/apimachinery`'s `field.Path`:
/// `spec.tls[0].hosts[1]`, `metadata.annotations[nginx.org/policies]`.
public struct FieldPath: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public private(set) var description: String

    public init(_ root: String, _ children: String...) {
        description = children.isEmpty ? root : ([root] + children).joined(separator: ".")
    }

    /// The path of the object itself, for findings about the whole object (`<object>`).
    public static let object = FieldPath("<object>")

    /// `path.name`
    public func child(_ name: String) -> FieldPath {
        var copy = self
        copy.description = String(concatenating: description, ".", name)
        return copy
    }

    /// `path[index]`
    public func index(_ index: Int) -> FieldPath {
        var copy = self
        copy.description = String(concatenating: description, "[", String(index), "]")
        return copy
    }

    /// `path[key]`, for map entries such as annotations or Secret data keys.
    public func key(_ key: String) -> FieldPath {
        var copy = self
        copy.description = String(concatenating: description, "[", key, "]")
        return copy
    }

    public static func < (lhs: FieldPath, rhs: FieldPath) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        description = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One violation of one rule at one field.
public struct Finding: Hashable, Sendable, Codable, CustomStringConvertible {
    public var rule: RuleID
    public var severity: Severity
    public var field: FieldPath
    /// One line, Kubernetes `field.Error` style without the path; never secret data.
    public var message: String

    public init(rule: RuleID, severity: Severity, field: FieldPath, message: String) {
        self.rule = rule
        self.severity = severity
        self.field = field
        self.message = message
    }

    /// `spec.ingressMTLS.verifyClient: Unsupported value: "maybe": ... (ingress-mtls/verify-client)`
    public var description: String { String(concatenating: field.description, ": ", message, " (", rule.rawValue, ")") }
}

extension Array where Element == Finding {
    /// Deterministic order for output: deny before warn, then by field path, rule and message.
    public func sortedForOutput() -> [Finding] {
        sorted { a, b in
            if a.severity != b.severity { return a.severity < b.severity }
            if a.field != b.field { return a.field < b.field }
            if a.rule != b.rule { return a.rule < b.rule }
            return a.message < b.message
        }
    }
}
