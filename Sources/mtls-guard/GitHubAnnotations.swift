import Foundation
import KubeModel

/// `validate --output github`: one GitHub Actions workflow command per finding
/// (`::error file=…,line=…,col=…,title=rule::message`), so findings show on the pull request's
/// lines, then the summary as a plain line.
extension ValidationReport {
    func githubAnnotations() -> String {
        var out = ""
        for result in results {
            for (index, finding) in result.findings.enumerated() {
                let command = finding.severity == "deny" ? "error" : "warning"
                var properties: [String] = []
                if let file = result.file, file != "-" {
                    properties.append("file=\(Self.escapeProperty(file))")
                    if index < result.positions.count, let position = result.positions[index] {
                        properties.append("line=\(position.line)")
                        properties.append("col=\(position.column)")
                    }
                }
                properties.append("title=\(Self.escapeProperty(finding.rule))")
                let message = "\(result.kind) \(result.displayName): \(finding.field): \(finding.message) (\(finding.rule))"
                out += "::\(command) \(properties.joined(separator: ","))::\(Self.escapeData(message))\n"
            }
        }
        out += "\(summary.objects) objects, \(summary.denied) denied, \(summary.warned) warned\n"
        return out
    }

    /// The runner's escaping for a command's message: `%`, CR and LF.
    static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25")
            .replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    /// Property values additionally escape `:` and `,`, which delimit properties.
    static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
