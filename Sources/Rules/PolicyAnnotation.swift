import Foundation

/// The `nginx.org/policies` annotation of an Ingress: `name` or `namespace/name` items, comma-separated.
enum PolicyAnnotation {
    /// Annotation keys NIC reads policy references from.
    static let keys = ["nginx.org/policies", "nginx.com/policies"]

    /// The most items an annotation may list: more is denied, and only these are resolved, so a huge
    /// list costs one finding rather than one lookup and message per item.
    static let maximumItems = 256

    /// One comma-separated item, trimmed.
    struct Item: Sendable, Hashable {
        /// The item as written, without surrounding whitespace.
        var text: String
        /// 1-based position in the list, for messages.
        var position: Int
        /// The part before the first `/`, when there is one.
        var namespace: String?
        var name: String

        /// Why this item is not a valid reference, or `nil`.
        var problem: String? {
            if text.isEmpty { return "item \(position) is empty: remove the extra comma" }
            if let namespace {
                if namespace.isEmpty { return "item \(FieldError.quote(text)): namespace before '/' must not be empty" }
                if let problem = NameValidation.dns1123SubdomainProblem(namespace) {
                    return "item \(FieldError.quote(text)): namespace \(problem)"
                }
            }
            if name.isEmpty { return "item \(FieldError.quote(text)): policy name must not be empty" }
            if let problem = NameValidation.dns1123SubdomainProblem(name) {
                return "item \(FieldError.quote(text)): policy name \(problem)"
                    + (name.contains("/") ? " (use at most one '/': namespace/name)" : "")
            }
            return nil
        }

        /// The referenced Policy; `nil` when the item is invalid.
        func key(defaultNamespace: String) -> ObjectKey? {
            guard problem == nil else { return nil }
            return ObjectKey(namespace: namespace ?? defaultNamespace, name: name)
        }
    }

    /// `trimmingCharacters(in: .whitespacesAndNewlines)`, skipped when both ends are printable
    /// ASCII (nothing to trim): the Foundation call bridged through NSString on every item.
    static func trimmed(_ raw: Substring) -> String {
        if let first = raw.utf8.first, let last = raw.utf8.last,
           (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return String(raw)
        }
        return raw.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Splits at commas and trims whitespace (spaces, tabs, newlines) around every item, as NIC does.
    static func parse(_ value: String) -> [Item] {
        value.split(separator: ",", omittingEmptySubsequences: false).enumerated().map { index, raw in
            let text = trimmed(raw)
            if let slash = text.firstIndex(of: "/") {
                return Item(text: text, position: index + 1, namespace: String(text[..<slash]),
                            name: String(text[text.index(after: slash)...]))
            }
            return Item(text: text, position: index + 1, namespace: nil, name: text)
        }
    }
}
