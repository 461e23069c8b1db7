import ArgumentParser
import Foundation
import KubeModel
import Rules

/// `--output` of the commands that print a report.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// One finding as the reports print it: `{rule, severity, field, message}`, all strings.
struct ReportedFinding: Encodable {
    var rule: String
    var severity: String
    var field: String
    var message: String

    init(_ finding: Finding) {
        rule = finding.rule.rawValue
        severity = finding.severity.rawValue
        field = finding.field.description
        message = finding.message
    }
}

extension Encodable {
    /// Pretty-printed JSON with sorted keys and unescaped slashes, as every command prints it.
    func prettyJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Writes `error: <error>` to stderr and returns exit status 2, the CLI's status for unusable input.
func unusableInput(_ error: some Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(2)
}

/// Loads manifests (files, directories, `-`); a loader error is printed with the file named and exits 2.
/// - Parameter withPositions: keep where each field stands, for reports that point at lines.
func loadManifests(_ paths: [String], withPositions: Bool = false) throws -> [LoadedObject] {
    do {
        return try ManifestLoader.load(paths: paths, withPositions: withPositions)
    } catch {
        throw unusableInput(error)
    }
}
