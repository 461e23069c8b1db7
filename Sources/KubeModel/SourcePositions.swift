import Yams

/// Where the fields of one YAML or JSON document start, so a finding's field path can be shown as
/// `file:line:col`. Built from the marks Yams keeps on every node while the document is loaded.
public struct SourcePositions: Sendable {
    /// A place in the source text: 1-based line and column (columns count Unicode scalars).
    public struct Position: Sendable, Hashable, CustomStringConvertible {
        public let line: Int
        public let column: Int

        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }

        public var description: String { "\(line):\(column)" }
    }

    /// Fields recorded per document at most: the index stays small whatever the document (aliases
    /// can make a short text a large tree); fields past the limit fall back to an ancestor's position.
    static let maximumEntries = 100_000

    /// Path components joined with `pathSeparator` -> where the field's key (or element) starts.
    private let entries: [String: Position]
    /// Components prepended to every lookup: `items`, `N` for the members of a `List`.
    private let prefix: [String]
    private static let pathSeparator = "\u{1F}"

    /// Indexes every field of `node`: mapping entries at their key, sequence elements at themselves.
    public init(indexing node: Node) {
        self.init(indexing: node, limit: Self.maximumEntries)
    }

    init(indexing node: Node, limit: Int) {
        var entries: [String: Position] = [:]
        var budget = limit
        Self.index(node, path: [], mark: node.mark, into: &entries, budget: &budget)
        self.entries = entries
        prefix = []
    }

    /// The positions of a one-document YAML text, indexing at most `limit` fields (for tests).
    static func indexing(yaml: String, limit: Int) -> SourcePositions? {
        (try? Yams.compose(yaml: yaml)).map { SourcePositions(indexing: $0, limit: limit) }
    }

    private init(entries: [String: Position], prefix: [String]) {
        self.entries = entries
        self.prefix = prefix
    }

    private static func index(_ node: Node, path: [String], mark: Mark?, into entries: inout [String: Position], budget: inout Int) {
        guard budget > 0 else { return }
        budget -= 1
        if let mark { entries[path.joined(separator: pathSeparator)] = Position(line: mark.line, column: mark.column) }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                // `<<` merge keys and non-scalar keys name no field of their own.
                guard case .scalar(let scalar) = key, Resolver.default.resolveTag(of: key) != .merge else { continue }
                index(value, path: path + [scalar.string], mark: key.mark, into: &entries, budget: &budget)
            }
        case .sequence(let sequence):
            for (offset, element) in sequence.enumerated() {
                index(element, path: path + [String(offset)], mark: element.mark, into: &entries, budget: &budget)
            }
        case .scalar, .alias:
            break
        }
    }

    /// The positions of member `index` of a `List` document (`items[index]`).
    public func item(_ index: Int) -> SourcePositions {
        SourcePositions(entries: entries, prefix: prefix + ["items", String(index)])
    }

    /// Where the field at `path` starts, `path` written as findings write it
    /// (`spec.tls[0].secretName`, `metadata.annotations[nginx.org/policies]`). A field the document
    /// does not have (a required field that is missing) gets its nearest present ancestor; `<object>`
    /// and an empty path the object's own start.
    public func position(of path: String) -> Position? {
        var components = prefix + Self.components(of: path)
        while true {
            if let found = entries[components.joined(separator: Self.pathSeparator)] { return found }
            if components.count <= prefix.count { return nil }
            components.removeLast()
        }
    }

    /// `a.b[0][x.y/z].c` -> `a`, `b`, `0`, `x.y/z`, `c`: a bracket holds an index or a map key
    /// (which may contain dots); `<object>` has no components.
    static func components(of path: String) -> [String] {
        guard path != "<object>" else { return [] }
        var components: [String] = []
        var current = ""
        var inBracket = false
        for character in path {
            switch character {
            case "[" where !inBracket:
                if !current.isEmpty { components.append(current) }
                current = ""
                inBracket = true
            case "]" where inBracket:
                components.append(current)
                current = ""
                inBracket = false
            case "." where !inBracket:
                if !current.isEmpty { components.append(current) }
                current = ""
            default:
                current.append(character)
            }
        }
        if !current.isEmpty { components.append(current) }
        return components
    }
}
