import Foundation

/// One field of a typed view, read tolerantly from the raw document.
///
/// A value of the wrong JSON type is kept as `.wrongType` instead of failing the whole object, so
/// a rule can report it at that field's path (`verifyClient: true` from an unquoted YAML `on`).
public enum FieldValue<Value: Sendable & Hashable>: Sendable, Hashable {
    /// Missing, or explicitly `null` (which Kubernetes treats as unset).
    case absent
    /// Present with the expected type.
    case value(Value)
    /// Present with another JSON type; the raw value is kept for the message.
    case wrongType(JSONValue)

    /// The value when present with the expected type.
    public var value: Value? {
        if case .value(let v) = self { return v }
        return nil
    }

    /// `true` unless the field is missing or `null`.
    public var isSet: Bool {
        if case .absent = self { return false }
        return true
    }
}

extension FieldValue where Value == String {
    /// Reads a string field: any other JSON type is `.wrongType`.
    public init(string raw: JSONValue?) {
        switch raw {
        case nil, .null?: self = .absent
        case .string(let s)?: self = .value(s)
        case let other?: self = .wrongType(other)
        }
    }
}

extension FieldValue where Value == Bool {
    /// Reads a boolean field: a string `"true"` is `.wrongType`, as the CRD schema would reject it.
    public init(bool raw: JSONValue?) {
        switch raw {
        case nil, .null?: self = .absent
        case .bool(let b)?: self = .value(b)
        case let other?: self = .wrongType(other)
        }
    }
}

extension FieldValue where Value == Int64 {
    /// Reads an integer field: a quoted `"2"` or a fraction is `.wrongType`.
    public init(integer raw: JSONValue?) {
        switch raw {
        case nil, .null?: self = .absent
        case let other?:
            if let i = other.integerValue { self = .value(i) } else { self = .wrongType(other) }
        }
    }
}

/// A container (object or array) of the wrong JSON type, found while building a view.
///
/// The view treats such a container as empty and records it here, so a rule can report it at
/// its path rather than silently ignoring it.
public struct ShapeProblem: Sendable, Hashable {
    /// Rendered like `field.Path`: `spec.routes[1].policies`.
    public var path: String
    /// `object` or `array`.
    public var expected: String
    /// JSON type name of what was found.
    public var found: String

    public init(path: String, expected: String, found: String) {
        self.path = path
        self.expected = expected
        self.found = found
    }

    /// `Invalid value: "string": must be an object`
    public var message: String { "Invalid value: \"\(found)\": must be \(expected == "array" ? "an array" : "an object")" }
}

/// Helpers for walking raw documents while recording shape problems.
struct ShapeReader {
    var problems: [ShapeProblem] = []
    // Paths are autoclosures: rendering "spec.rules[3].http.paths" for every field read, when a
    // problem is rare, was a sixth of an Ingress review.

    /// The members of an object field; `nil` when missing/null, `[:]` (and a problem) when not an object.
    mutating func object(_ raw: JSONValue?, at path: @autoclosure () -> String) -> JSONObject? {
        switch raw {
        case nil, .null?: return nil
        case .object(let members)?: return members
        case let other?:
            problems.append(ShapeProblem(path: path(), expected: "object", found: other.typeName))
            return [:]
        }
    }

    /// The elements of an array field; `[]` when missing/null, `[]` (and a problem) when not an array.
    mutating func array(_ raw: JSONValue?, at path: @autoclosure () -> String) -> [JSONValue] {
        switch raw {
        case nil, .null?: return []
        case .array(let elements)?: return elements
        case let other?:
            problems.append(ShapeProblem(path: path(), expected: "array", found: other.typeName))
            return []
        }
    }

    /// An array element that must be an object: `[:]` (and a problem) otherwise.
    mutating func element(_ raw: JSONValue, at path: @autoclosure () -> String) -> JSONObject {
        if case .object(let members) = raw { return members }
        problems.append(ShapeProblem(path: path(), expected: "object", found: raw.typeName))
        return [:]
    }
}
