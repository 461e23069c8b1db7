import ArgumentParser
import Foundation
import KubeModel
import Rules

/// `mtls-guard validate`: the rule engine offline, for CI. Every object is judged as a CREATE
/// against the snapshot formed by all inputs.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate manifests (files, directories, - for stdin) against the mTLS rule catalogue.",
        discussion: "Exit status: 0 no deny finding, 1 deny findings, 2 usage error or unreadable input.")

    @Argument(help: "Files or directories (recursive: .yaml .yml .json); - reads stdin.")
    var paths: [String] = []

    /// kubectl's spelling, so `kubectl mtls-guard validate -f dir/` reads like `kubectl apply -f dir/`.
    @Option(name: [.customShort("f"), .customLong("filename")], help: "A file or directory, as kubectl's -f (repeatable); same as a PATH argument.")
    var filenames: [String] = []

    /// Positional paths and `-f` paths, in that order.
    var inputs: [String] { paths + filenames }

    /// validate's formats: the shared text and JSON, plus the two code-scanning formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, sarif, github
    }

    @Option(help: "text (file:line:col per finding), json, sarif (SARIF 2.1.0) or github (workflow commands).")
    var output: Format = .text

    @OptionGroup var rules: RuleSettingsOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one PATH or -f (file, directory or - for stdin)") }
    }

    func run() throws {
        let report = ValidationReport(try loadManifests(inputs, withPositions: true), settings: rules.settings)
        switch output {
        case .json: print(report.json())
        case .text: print(report.text(), terminator: "")
        case .sarif: print(SARIFLog(report).json())
        case .github: print(report.githubAnnotations(), terminator: "")
        }
        if report.summary.denied > 0 { throw ExitCode(1) }
    }
}

/// The result of `validate`, shaped as the JSON the README documents.
struct ValidationReport: Encodable {
    struct Result: Encodable {
        var apiVersion: String
        var kind: String
        /// `default` for namespaced kinds without one; `null` for cluster-scoped kinds.
        var namespace: String?
        var name: String
        var source: String
        var findings: [ReportedFinding]
        /// Not in the JSON contract: the file (as given) and, per finding, where its field starts.
        var file: String? = nil
        var positions: [SourcePositions.Position?] = []

        /// `namespace/name`, or `name` for cluster-scoped kinds.
        var displayName: String { namespace.map { "\($0)/\(name)" } ?? name }

        /// `file:line:col` of finding `index` when known, else the object's `source`.
        func location(of index: Int) -> String {
            guard let file, file != "-", index < positions.count, let position = positions[index] else { return source }
            return "\(file):\(position.line):\(position.column)"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(apiVersion, forKey: .apiVersion)
            try container.encode(kind, forKey: .kind)
            try container.encode(namespace, forKey: .namespace)  // explicit null, so every result has the key
            try container.encode(name, forKey: .name)
            try container.encode(source, forKey: .source)
            try container.encode(findings, forKey: .findings)
        }

        enum CodingKeys: String, CodingKey { case apiVersion, kind, namespace, name, source, findings }
    }

    struct Summary: Encodable {
        var objects: Int
        /// Objects with at least one deny finding.
        var denied: Int
        /// Objects with warnings but no deny finding.
        var warned: Int
    }

    /// Kinds that have no namespace: their results carry `namespace: null`.
    static let clusterScopedKinds: Set<String> = [
        "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
        "StorageClass", "IngressClass", "PriorityClass", "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration", "APIService", "ClusterIssuer", "RuntimeClass", "CSIDriver",
    ]

    var results: [Result]
    var summary: Summary

    init(_ loaded: [LoadedObject], settings: Settings) {
        let snapshot = InMemorySnapshot(objects: loaded.map(\.object))
        self.init(results: loaded.map { item in
            let object = item.object
            let namespace = Self.clusterScopedKinds.contains(object.kind) ? nil : (object.metadata.namespace ?? "default")
            let evaluation = RuleEngine.evaluate(ReviewInput(creating: object, namespace: namespace), snapshot: snapshot, settings: settings)
            return Result(apiVersion: object.apiVersion, kind: object.kind, namespace: namespace, name: object.name,
                          source: item.source,
                          findings: evaluation.findings.map(ReportedFinding.init),
                          file: item.file,
                          positions: evaluation.findings.map { item.positions?.position(of: $0.field.description) })
        })
    }

    /// A report of `results`, with their summary.
    init(results: [Result]) {
        self.results = results
        let denied = results.filter { $0.findings.contains { $0.severity == "deny" } }.count
        let warned = results.filter { r in
            r.findings.contains { $0.severity == "warn" } && !r.findings.contains { $0.severity == "deny" }
        }.count
        summary = Summary(objects: results.count, denied: denied, warned: warned)
    }

    func json() -> String { (try? prettyJSON()) ?? "{}" }

    /// `file:line:col: Kind namespace/name: field: message (rule) [severity]` per finding (the object's
    /// `source` where no position is known, as for stdin), then a summary line.
    func text() -> String {
        var out = ""
        for result in results {
            let name = result.displayName
            for (index, finding) in result.findings.enumerated() {
                out += "\(result.location(of: index)): \(result.kind) \(name): \(finding.field): \(finding.message) (\(finding.rule)) [\(finding.severity)]\n"
            }
        }
        out += "\(summary.objects) objects, \(summary.denied) denied, \(summary.warned) warned\n"
        return out
    }
}
