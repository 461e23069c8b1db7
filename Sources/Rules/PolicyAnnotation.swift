import Foundation
import KubeModel

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
        let text: String
        /// 1-based position in the list, for messages.
        let position: Int
        /// The part before the first `/`, when there is one.
        let namespace: String?
        let name: String

        /// Why this item is not a valid reference, or `nil`.
        let problem: String?

        init(text: String, position: Int, namespace: String?, name: String) {
            self.text = text
            self.position = position
            self.namespace = namespace
            self.name = name
            problem = Self.problem(text: text, position: position, namespace: namespace, name: name)
        }

        private static func problem(text: String, position: Int, namespace: String?, name: String) -> String? {
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
                    + (name.utf8.contains(UInt8(ascii: "/")) ? " (use at most one '/': namespace/name)" : "")
            }
            return nil
        }

        /// The referenced Policy; `nil` when the item is invalid.
        func key(defaultNamespace: String) -> ObjectKey? {
            guard problem == nil else { return nil }
            return ObjectKey(namespace: namespace ?? defaultNamespace, name: name)
        }
    }

    /// Whether either policies annotation is set (even to an empty value).
    static func isPresent(in annotations: [String: String]) -> Bool {
        keys.contains { annotations[$0] != nil }
    }

    /// The policies annotations of one object, each parsed once: an Ingress review reads them for
    /// the annotation rules, the reference rules and the ingress-nginx client-auth rule.
    struct Lists {
        /// Each annotation set (in `keys` order), with its value and items.
        let entries: [(key: String, value: String, items: [Item])]

        init(_ annotations: [String: String]) {
            entries = keys.compactMap { key in annotations[key].map { (key, $0, PolicyAnnotation.parse($0)) } }
        }

        /// Either annotation is set (even to an empty value).
        var isPresent: Bool { !entries.isEmpty }
    }

    /// The Policies an Ingress's annotations reference, as NIC's `getIngressPolicyRefs` collects
    /// them: nginx.org/policies first, then nginx.com/policies, de-duplicated by `namespace/name`
    /// (`p` and `default/p` in namespace `default` are one reference), each with the annotation it
    /// first appeared in. At most `maximumItems` of each annotation, as the rules resolve them (more
    /// is denied); invalid items reference nothing. The rules, the reference index and the live
    /// view's fetches of missing Policies all read references here.
    static func references(in annotations: [String: String], namespace: String) -> [(annotation: String, key: ObjectKey)] {
        references(in: Lists(annotations), namespace: namespace)
    }

    /// The same, from the annotations already parsed. (An absent annotation references nothing; an
    /// empty one is one empty, invalid item.)
    static func references(in lists: Lists, namespace: String) -> [(annotation: String, key: ObjectKey)] {
        var references: [(annotation: String, key: ObjectKey)] = []
        var seen = DistinctList<ObjectKey>()
        for (annotation, _, items) in lists.entries {
            for item in items.prefix(maximumItems) {
                if let key = item.key(defaultNamespace: namespace), seen.insert(key) {
                    references.append((annotation, key))
                }
            }
        }
        return references
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
        commaSeparated(value).enumerated().map { index, raw in
            let text = trimmed(raw)
            if let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) {
                return Item(text: text, position: index + 1, namespace: String(text[..<slash]),
                            name: String(text[text.utf8.index(after: slash)...]))
            }
            return Item(text: text, position: index + 1, namespace: nil, name: text)
        }
    }

    /// `value.split(separator: ",", omittingEmptySubsequences: false)`, by bytes: the generic
    /// `split` compares Characters (grapheme breaking) and cost thousands of instructions per value.
    static func commaSeparated(_ value: String) -> [Substring] {
        var items: [Substring] = []
        var start = value.startIndex
        var index = value.utf8.startIndex
        while let comma = value.utf8[index...].firstIndex(of: UInt8(ascii: ",")) {
            items.append(value[start..<comma])
            start = value.utf8.index(after: comma)
            index = start
        }
        items.append(value[start...])
        return items
    }
}
