import Foundation
import KubeModel
import Rules

/// `validate --output sarif`: the report as a SARIF 2.1.0 log for GitHub code scanning, GitLab and
/// other SARIF readers. One rule per catalogue entry, one result per finding with its rule, level
/// (deny -> error, warn -> warning) and physical location (file, line, column) where known.
struct SARIFLog: Encodable {
    struct Message: Encodable { var text: String }

    struct ReportingConfiguration: Encodable { var level: String }

    struct Rule: Encodable {
        var id: String
        var name: String
        var shortDescription: Message
        var fullDescription: Message
        var defaultConfiguration: ReportingConfiguration
        var properties: [String: [String]]
    }

    struct Driver: Encodable {
        var name: String
        var version: String
        var rules: [Rule]
    }

    struct Tool: Encodable { var driver: Driver }

    struct ArtifactLocation: Encodable { var uri: String }

    struct Region: Encodable {
        var startLine: Int
        var startColumn: Int
    }

    struct PhysicalLocation: Encodable {
        var artifactLocation: ArtifactLocation
        var region: Region?
    }

    struct LogicalLocation: Encodable {
        var fullyQualifiedName: String
        var kind: String
    }

    struct Location: Encodable {
        var physicalLocation: PhysicalLocation?
        var logicalLocations: [LogicalLocation]
    }

    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int?
        var level: String
        var message: Message
        var locations: [Location]
    }

    struct Run: Encodable {
        var tool: Tool
        /// Yams counts columns in Unicode scalars, not SARIF's default UTF-16 code units.
        var columnKind: String
        var results: [Result]
    }

    var schema = "https://json.schemastore.org/sarif-2.1.0.json"
    var version = "2.1.0"
    var runs: [Run]

    enum CodingKeys: String, CodingKey {
        case schema = "$schema"
        case version, runs
    }

    init(_ report: ValidationReport, toolVersion: String = MTLSGuard.version) {
        let catalogue = RuleCatalogue.all
        let rules = catalogue.map { descriptor in
            let family = descriptor.id.rawValue.split(separator: "/").first.map(String.init) ?? descriptor.id.rawValue
            let section = RuleCatalogue.sections[descriptor.section] ?? "section \(descriptor.section)"
            let summary = "\(descriptor.id.rawValue): \(section), "
                + "\(descriptor.severity == .deny ? "denies" : "warns") by default"
                + (descriptor.checkedByController ? "" : " (beyond what NIC checks)")
            return Rule(id: descriptor.id.rawValue, name: descriptor.id.rawValue,
                        shortDescription: Message(text: summary), fullDescription: Message(text: descriptor.description),
                        defaultConfiguration: ReportingConfiguration(level: Self.level(descriptor.severity.rawValue)),
                        properties: ["tags": ["mtls", "kubernetes", family]])
        }
        let ruleIndex = Dictionary(catalogue.enumerated().map { ($0.element.id.rawValue, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var results: [Result] = []
        for result in report.results {
            for (index, finding) in result.findings.enumerated() {
                var physical: PhysicalLocation?
                if let file = result.file, file != "-" {
                    let position = index < result.positions.count ? result.positions[index] : nil
                    physical = PhysicalLocation(artifactLocation: ArtifactLocation(uri: Self.uri(forPath: file)),
                                                region: position.map { Region(startLine: $0.line, startColumn: $0.column) })
                }
                let logical = LogicalLocation(fullyQualifiedName: "\(result.kind) \(result.displayName): \(finding.field)", kind: "object")
                results.append(Result(
                    ruleId: finding.rule, ruleIndex: ruleIndex[finding.rule], level: Self.level(finding.severity),
                    message: Message(text: "\(result.kind) \(result.displayName): \(finding.field): \(finding.message)"),
                    locations: [Location(physicalLocation: physical, logicalLocations: [logical])]))
            }
        }
        runs = [Run(tool: Tool(driver: Driver(name: "mtls-guard", version: toolVersion, rules: rules)),
                    columnKind: "unicodeCodePoints", results: results)]
    }

    static func level(_ severity: String) -> String { severity == "deny" ? "error" : "warning" }

    /// A relative path stays a relative URI reference (code scanning resolves it against the
    /// repository root); an absolute one becomes a `file://` URI.
    static func uri(forPath path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ":")  // a relative reference must not look like a scheme
        let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }

    func json() -> String { (try? prettyJSON()) ?? "{}" }
}
