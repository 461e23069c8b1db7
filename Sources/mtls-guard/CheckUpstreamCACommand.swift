import ArgumentParser
import Foundation
import KubeModel
import Rules

/// `mtls-guard check-upstream-ca FILE`: checks the file given to `nginx-meshctl deploy --mtls-upstream-ca-conf`
/// (section 7 of docs/rules.md), YAML or JSON.
struct CheckUpstreamCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-upstream-ca",
        abstract: "Check an NGINX Service Mesh upstream CA configuration file and the certificate files it names.",
        discussion: """
            Relative paths in the file are resolved against the file's directory. A file that does not exist here \
            is a warning (it may exist only on the deploy host) unless --require-files is given.
            Exit status: 0 no deny finding, 1 deny findings, 2 usage error or unreadable/unparseable FILE.
            """)

    @Argument(help: "The upstream CA configuration file (YAML or JSON).")
    var file: String

    @Flag(help: "Deny (instead of warn) when a file named by a *_path field does not exist.")
    var requireFiles = false

    @Option(help: "text or json.")
    var output: OutputFormat = .text

    @OptionGroup var expiryWindow: ExpiryWindowOptions

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let document: JSONValue
        do {
            document = try Self.load(url, source: file)
        } catch {
            throw unusableInput(error)
        }
        let settings = Settings(expiryWarningWindow: expiryWindow.seconds, now: Date())
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

    /// Reads and parses FILE (one YAML or JSON document). The errors never quote the file's content:
    /// it may hold tokens.
    static func load(_ url: URL, source: String) throws(ManifestError) -> JSONValue {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw ManifestError(source: source, reason: exists ? "cannot be read" : "no such file")
        }
        return try ManifestLoader.document(from: data, source: source)
    }
}

/// The result of `check-upstream-ca`: `{"file", "findings": [{rule, severity, field, message}], "summary": {denied, warned}}`.
struct UpstreamCAReport: Encodable {
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
        self.findings = findings.map(ReportedFinding.init)
        summary = Summary(denied: findings.filter { $0.severity == .deny }.count,
                          warned: findings.filter { $0.severity == .warn }.count)
    }

    func json() -> String { (try? prettyJSON()) ?? "{}" }

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
