import ArgumentParser
import Foundation
import KubeModel
import Rules
import Yams

/// `mtls-guard check-upstream-ca FILE`: checks the file given to `nginx-meshctl deploy --mtls-upstream-ca-conf`
/// (RULES.md §7), YAML or JSON.
struct CheckUpstreamCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-upstream-ca",
        abstract: "Check an NGINX Service Mesh upstream CA configuration file and the certificate files it names.",
        discussion: """
            Relative paths in the file are resolved against the file's directory. A file that does not exist here \
            is a warning (it may exist only on the deploy host) unless --require-files is given.
            Exit status: 0 no deny finding, 1 deny findings, 2 usage error or unreadable/unparseable FILE.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "The upstream CA configuration file (YAML or JSON).")
    var file: String

    @Flag(help: "Deny (instead of warn) when a file named by a *_path field does not exist.")
    var requireFiles = false

    @Option(help: "text or json.")
    var output: OutputFormat = .text

    @Option(help: "Warn when a certificate expires within this many days.")
    var expiryWindowDays: Double = 30

    func validate() throws {
        guard expiryWindowDays >= 0, expiryWindowDays.isFinite else {
            throw ValidationError("--expiry-window-days must be a non-negative number")
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let document: JSONValue
        do {
            document = try Self.load(url)
        } catch {
            FileHandle.standardError.write(Data("error: \(file): \(error)\n".utf8))
            throw ExitCode(2)
        }
        let settings = Settings(expiryWarningWindow: expiryWindowDays * 24 * 3600, now: Date())
        let findings = UpstreamCARules.check(
            document: document, baseDirectory: url.deletingLastPathComponent(), requireFiles: requireFiles,
            settings: settings
        ).sortedForOutput()

        let report = UpstreamCAReport(file: file, findings: findings)
        switch output {
        case .text: print(report.text(), terminator: "")
        case .json: print(report.json())
        }
        if report.summary.denied > 0 { throw ExitCode(1) }
    }

    /// Why the file could not be turned into a document; never quotes the file's content (it may hold tokens).
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads and parses FILE: JSON when it starts with `{`, YAML otherwise.
    static func load(_ url: URL) throws(LoadError) -> JSONValue {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw LoadError(description: exists ? "cannot be read" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw LoadError(description: "not UTF-8 text") }
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.isEmpty { throw LoadError(description: "empty file") }
        if trimmed.first == "{" {
            do {
                return try JSONDecoder().decode(JSONValue.self, from: data)
            } catch {
                throw LoadError(description: "not valid JSON")
            }
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw LoadError(description: "not valid YAML: \(describe(error))")
        } catch {
            throw LoadError(description: "not valid YAML")
        }
        guard let node else { throw LoadError(description: "empty document") }
        return try jsonValue(node)
    }

    /// The YAML node as JSON, resolving scalars with YAML 1.1 rules as the YAML reader of nginx-meshctl does.
    private static func jsonValue(_ node: Node) throws(LoadError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch Resolver.default.resolveTag(of: node) {
            case .null: return .null
            case .bool: return Bool.construct(from: scalar).map(JSONValue.bool) ?? .string(scalar.string)
            case .int:
                if let i = Int64.construct(from: scalar) { return .integer(i) }
                return Double.construct(from: scalar).map(JSONValue.number) ?? .string(scalar.string)
            case .float:
                guard let d = Double.construct(from: scalar), d.isFinite else {
                    throw LoadError(description: "\(at(scalar.mark))a number that JSON cannot represent")
                }
                return .number(d)
            default:
                return .string(scalar.string)
            }
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw LoadError(description: "\(at(key.mark))mapping keys must be scalars")
                }
                members[keyScalar.string] = try jsonValue(value)
            }
            return .object(members)
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for element in sequence { elements.append(try jsonValue(element)) }
            return .array(elements)
        case .alias:
            throw LoadError(description: "\(at(node.mark))YAML aliases are not supported here")
        }
    }

    private static func at(_ mark: Mark?) -> String {
        guard let mark else { return "" }
        return "line \(mark.line), column \(mark.column): "
    }

    /// The problem and its position, without the offending line (it may hold a token).
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
}

/// The result of `check-upstream-ca`: `{"file", "findings": [{rule, severity, field, message}], "summary": {denied, warned}}`.
struct UpstreamCAReport: Encodable {
    struct ReportedFinding: Encodable {
        var rule: String
        var severity: String
        var field: String
        var message: String
    }

    struct Summary: Encodable {
        /// Deny findings.
        var denied: Int
        /// Warn findings.
        var warned: Int
    }

    var file: String
    var findings: [ReportedFinding]
    var summary: Summary

    init(file: String, findings: [Finding]) {
        self.file = file
        self.findings = findings.map {
            ReportedFinding(rule: $0.rule.rawValue, severity: $0.severity.rawValue, field: $0.field.description, message: $0.message)
        }
        summary = Summary(denied: findings.filter { $0.severity == .deny }.count,
                          warned: findings.filter { $0.severity == .warn }.count)
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `file: field: message (rule) [severity]` per finding, then a summary line.
    func text() -> String {
        var out = ""
        for finding in findings {
            out += "\(file): \(finding.field): \(finding.message) (\(finding.rule)) [\(finding.severity)]\n"
        }
        out += "\(file): \(summary.denied) denied, \(summary.warned) warned\n"
        return out
    }
}
