import Foundation
import Yams

/// One Kubernetes object read from a manifest, with where it came from.
public struct LoadedObject: Sendable {
    public let object: KubeObject
    /// `path#docN` (1-based document number), with `/items[i]` for members of a `List`; `-` is stdin.
    public let source: String
    /// The file it was read from as given (`-` for stdin), for `file:line:col` and SARIF locations.
    public let file: String?
    /// Where its fields start in that file; nil when the text could not be indexed.
    public let positions: SourcePositions?

    public init(object: KubeObject, source: String, file: String? = nil, positions: SourcePositions? = nil) {
        self.object = object
        self.source = source
        self.file = file
        self.positions = positions
    }
}

/// Why manifests could not be loaded. The description names the file and document.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// `path` or `path#docN`.
    public let source: String
    public let reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

/// Reads Kubernetes manifests the way `kubectl apply -f` does: YAML multi-document streams
/// (YAML 1.1 scalars, so an unquoted `on` is a boolean), JSON, `List` objects flattened.
public enum ManifestLoader {
    /// File name extensions read when walking a directory.
    public static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]

    /// The largest file (or stdin) read: manifests are kilobytes; a bigger input is refused rather than
    /// parsed into several times its size in memory.
    public static let maximumInputSize = 32 * 1024 * 1024

    /// The most nodes YAML aliases and merge keys may add to one document when expanded. An alias bomb
    /// (anchors referring to anchors) expands exponentially; real manifests add a few hundred at most.
    public static let maximumAliasExpansion = 1_000_000

    /// Loads files, directories (recursively, `.yaml` `.yml` `.json`, in sorted order, hidden entries
    /// skipped) and `-` for stdin. A file named explicitly is read whatever its extension.
    /// - Parameter withPositions: index where each field stands (`LoadedObject.positions`), for
    ///   reports that point at lines; a JSON input is then read a second time, by Yams.
    public static func load(
        paths: [String], withPositions: Bool = false,
        stdin: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() }
    ) throws(ManifestError) -> [LoadedObject] {
        var objects: [LoadedObject] = []
        for path in paths {
            if path == "-" {
                let data = stdin()
                if data.count > maximumInputSize { throw tooLarge(source: "-", size: data.count) }
                objects += try load(data: data, source: "-", withPositions: withPositions)
                continue
            }
            for file in try manifestFiles(at: path) {
                objects += try load(data: try read(file), source: file, withPositions: withPositions)
            }
        }
        return objects
    }

    /// Parses one stream: JSON when it starts with `{` or `[`, YAML (multi-document) otherwise.
    public static func load(data: Data, source: String, withPositions: Bool = false) throws(ManifestError) -> [LoadedObject] {
        let (text, isJSON) = try readText(data, source: source)
        if isJSON {
            let value = try decodeJSON(data, source: source)
            // JSON is YAML too: Yams finds the positions the JSON parser does not keep. Best effort:
            // text Yams cannot read only loses positions.
            let positions = withPositions ? (try? Yams.compose(yaml: text)).map(SourcePositions.init(indexing:)) : nil
            return try objects(in: value, source: "\(source)#doc1", file: source, positions: positions)
        }
        return try loadYAML(text, source: source, withPositions: withPositions)
    }

    /// Parses exactly one document, JSON when it starts with `{` or `[`, YAML otherwise, into a `JSONValue`,
    /// with the same YAML 1.1 scalars and merge keys as `load`. It need not be a Kubernetes object.
    /// Errors give the problem and its line and column, never the document's text (it may hold secrets);
    /// an empty document and a stream of several YAML documents are errors.
    public static func document(from data: Data, source: String) throws(ManifestError) -> JSONValue {
        let (text, isJSON) = try readText(data, source: source)
        if isJSON {
            return try decodeJSON(data, source: source)
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ManifestError(source: source, reason: "not valid YAML: \(describe(error))")
        } catch {
            throw ManifestError(source: source, reason: "not valid YAML")
        }
        guard let node else { throw ManifestError(source: source, reason: "empty document") }
        try checkAliasExpansion(node, source: source)
        return try jsonValue(node, source: source)
    }

    /// The data as text, and whether it is JSON: it starts with `{` or `[` (after white space and a BOM).
    private static func readText(_ data: Data, source: String) throws(ManifestError) -> (text: String, isJSON: Bool) {
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError(source: source, reason: "not UTF-8 text")
        }
        let firstCharacter = text.first { !$0.isWhitespace && $0 != "\u{FEFF}" }
        return (text, firstCharacter == "{" || firstCharacter == "[")
    }

    private static func decodeJSON(_ data: Data, source: String) throws(ManifestError) -> JSONValue {
        do {
            return try JSONParser.parse(data)
        } catch {
            // The parser's reason names a byte offset, never the text (a manifest may hold a Secret).
            throw ManifestError(source: source, reason: "not valid JSON: \(error)")
        }
    }

    private static func loadYAML(_ text: String, source: String, withPositions: Bool) throws(ManifestError) -> [LoadedObject] {
        var objects: [LoadedObject] = []
        var documentNumber = 0
        do {
            // YamlSequence ends quietly on a parse error and keeps it in `error`: check it after the loop.
            var documents = try Yams.compose_all(yaml: text)
            while let node = documents.next() {
                documentNumber += 1
                try checkAliasExpansion(node, source: "\(source)#doc\(documentNumber)")
                let value = try jsonValue(node, source: "\(source)#doc\(documentNumber)")
                if value.isNull { continue }  // `---` followed by nothing, or a comment-only document
                objects += try self.objects(in: value, source: "\(source)#doc\(documentNumber)", file: source,
                                            positions: withPositions ? SourcePositions(indexing: node) : nil)
            }
            if let error = documents.error { throw error }
        } catch let error as ManifestError {
            throw error
        } catch let error as YamlError {
            throw ManifestError(source: "\(source)#doc\(documentNumber + 1)", reason: "not valid YAML: \(describe(error))")
        } catch {
            throw ManifestError(source: "\(source)#doc\(documentNumber + 1)", reason: "not valid YAML")
        }
        return objects
    }

    /// Flattens `List` objects; rejects documents that are not Kubernetes objects.
    private static func objects(
        in value: JSONValue, source: String, file: String? = nil, positions: SourcePositions? = nil
    ) throws(ManifestError) -> [LoadedObject] {
        guard case .object = value else {
            throw ManifestError(source: source, reason: "not a Kubernetes object: expected a mapping, found \(value.typeName)")
        }
        if let kind = value["kind"]?.stringValue, kind == "List" || (kind.hasSuffix("List") && value["items"] != nil) {
            guard let items = value["items"]?.arrayValue else {
                if value["items"] == nil || value["items"]?.isNull == true { return [] }
                throw ManifestError(source: source, reason: "items of \(kind) must be an array")
            }
            var objects: [LoadedObject] = []
            for (index, item) in items.enumerated() {
                objects += try self.objects(in: item, source: "\(source)/items[\(index)]", file: file, positions: positions?.item(index))
            }
            return objects
        }
        guard let object = KubeObject(value) else {
            throw ManifestError(source: source, reason: "not a Kubernetes object: apiVersion and kind must be set as strings")
        }
        return [LoadedObject(object: object, source: source, file: file, positions: positions)]
    }

    /// The YAML node as JSON, resolving scalars with YAML 1.1 rules like kubectl's YAML reader.
    private static func jsonValue(_ node: Node, source: String) throws(ManifestError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch Resolver.default.resolveTag(of: node) {
            case .null: return .null
            case .bool: return Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(scalar.string)
            case .int where scalar.string.utf8.contains(UInt8(ascii: ":")),
                 .float where scalar.string.utf8.contains(UInt8(ascii: ":")):
                // YAML 1.1's base-60 numbers (`1:20`): kubectl's reader (go-yaml v2) reads them as
                // strings, and Yams's conversion traps on overflow (`2:2:2:2:2:2:2:2:2:2:2`).
                return .string(scalar.string)
            case .int:
                if let i = Int64.construct(from: scalar) { return .integer(i) }
                return Double.construct(from: scalar).map(JSONValue.number) ?? .string(scalar.string)
            case .float:
                guard let d = Double.construct(from: scalar), d.isFinite else {
                    // Not the scalar itself: errors never echo the document.
                    throw ManifestError(source: source, reason: "\(at(scalar.mark))a number that JSON cannot represent")
                }
                return .number(d)
            default:
                // Strings, and timestamps: Kubernetes keeps those as strings too.
                return .string(scalar.string)
            }
        case .mapping(let mapping):
            var members = JSONObject()
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw ManifestError(source: source, reason: "\(at(key.mark))mapping keys must be scalars")
                }
                if Resolver.default.resolveTag(of: key) == .merge {
                    // `<<: *anchor`: merge the referenced mapping(s) without overriding explicit keys.
                    for case .object(let merged) in try mergeSources(value, source: source) {
                        for (k, v) in merged where members[k] == nil { members[k] = v }
                    }
                    continue
                }
                members[keyScalar.string] = try jsonValue(value, source: source)
            }
            return .object(members)
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for element in sequence { elements.append(try jsonValue(element, source: source)) }
            return .array(elements)
        case .alias:
            throw ManifestError(source: source, reason: "\(at(node.mark))unresolved YAML alias")
        }
    }

    private static func mergeSources(_ node: Node, source: String) throws(ManifestError) -> [JSONValue] {
        if case .sequence(let sequence) = node {
            var values: [JSONValue] = []
            for element in sequence { values.append(try jsonValue(element, source: source)) }
            return values
        }
        return [try jsonValue(node, source: source)]
    }

    private static func at(_ mark: Mark?) -> String {
        guard let mark else { return "" }
        return "line \(mark.line), column \(mark.column): "
    }

    /// The problem and position, without echoing the document (it may hold Secret data).
    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        case .reader(let problem, _, _, _):
            return problem
        default:
            return "unreadable document"
        }
    }

    private static func tooLarge(source: String, size: Int) -> ManifestError {
        ManifestError(source: source, reason: "\(size) bytes: larger than the limit of \(maximumInputSize) bytes for one input")
    }

    /// The file's bytes; a file over `maximumInputSize` or that cannot be read is an error naming why.
    private static func read(_ file: String) throws(ManifestError) -> Data {
        let descriptor = open(file, O_RDONLY)
        guard descriptor >= 0 else { throw ManifestError(source: file, reason: "cannot read file: \(systemError())") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) > maximumInputSize {
            throw tooLarge(source: file, size: Int(info.st_size))
        }
        do {
            // One byte past the limit tells a file that grew (or a pipe) from one at the limit.
            let data = try handle.read(upToCount: maximumInputSize + 1) ?? Data()
            if data.count > maximumInputSize { throw tooLarge(source: file, size: data.count) }
            return data
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError(source: file, reason: "cannot read file: \((error as NSError).localizedDescription)")
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }

    /// Refuses a document whose aliases and merge keys would expand beyond `maximumAliasExpansion`
    /// nodes, before anything is built from it.
    ///
    /// An alias is composed as the anchored node itself, with the anchor's position, so expanded sizes
    /// are memoised by position and node type: the count costs one visit per distinct node.
    static func checkAliasExpansion(_ root: Node, source: String) throws(ManifestError) {
        struct Position: Hashable { let line: Int, column: Int, type: Int }
        var expanded: [Position: Int] = [:]
        let limit = maximumAliasExpansion
        func size(_ node: Node) -> Int {
            let type: Int
            switch node {
            case .scalar: return 1
            case .alias: return 1
            case .mapping: type = 1
            case .sequence: type = 2
            }
            let position = node.mark.map { Position(line: $0.line, column: $0.column, type: type) }
            if let position, let known = expanded[position] { return known }
            var total = 1
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    total = min(total + size(key) + size(value), Int.max / 4)
                    if total > limit + expanded.count { break }
                }
            case .sequence(let sequence):
                for element in sequence {
                    total = min(total + size(element), Int.max / 4)
                    if total > limit + expanded.count { break }
                }
            default: break
            }
            if let position { expanded[position] = total }
            return total
        }
        let total = size(root)
        // What the document holds as written is bounded by the input size; only the growth is limited.
        if total - expanded.count > limit {
            throw ManifestError(source: source, reason:
                "YAML aliases expand this document beyond \(limit) nodes (alias or merge-key bomb?); refusing it")
        }
    }

    /// The manifest files at `path`: itself when a file, the manifests below it when a directory.
    ///
    /// Symbolic links are followed (a directory reached twice, as through a loop, is read once); an entry
    /// that cannot be read is an error naming it and why, never skipped silently.
    private static func manifestFiles(at path: String) throws(ManifestError) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT, lstat(path, &info) != 0 { throw ManifestError(source: path, reason: "no such file or directory") }
            throw ManifestError(source: path, reason: "cannot read: \(systemError())")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return [path] }
        var files: [String] = []
        var visited = Set<[UInt64]>()
        try walk(path.hasSuffix("/") ? String(path.dropLast()) : path, info: info, visited: &visited, into: &files)
        return files.sorted()
    }

    private static func walk(_ directory: String, info: stat, visited: inout Set<[UInt64]>, into files: inout [String]) throws(ManifestError) {
        guard visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ManifestError(source: directory, reason: "cannot list directory: \(readableReason(error, path: directory))")
        }
        for name in entries where !name.hasPrefix(".") {
            let entry = directory + "/" + name
            var entryInfo = stat()
            guard stat(entry, &entryInfo) == 0 else {
                let reason = systemError()
                var linkInfo = stat()
                if lstat(entry, &linkInfo) == 0, (linkInfo.st_mode & S_IFMT) == S_IFLNK {
                    throw ManifestError(source: entry, reason: "broken symbolic link: \(reason)")
                }
                throw ManifestError(source: entry, reason: "cannot read: \(reason)")
            }
            switch entryInfo.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(entry, info: entryInfo, visited: &visited, into: &files)
            case S_IFREG:
                if manifestExtensions.contains((name as NSString).pathExtension.lowercased()) { files.append(entry) }
            default:
                continue
            }
        }
    }

    /// `Permission denied` and the like: the POSIX reason when Foundation carries one.
    private static func readableReason(_ error: any Error, path: String) -> String {
        if access(path, R_OK | X_OK) != 0 { return systemError() }
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(underlying.code))) }
        return (error as NSError).localizedDescription
    }
}
