import ArgumentParser
import Audit
import ClusterState
import Foundation
import KubeModel
import Logging
import Rules

/// `mtls-guard audit`: what enforce mode would deny right now. Every object of the view (a live
/// cluster, or manifests) is judged as a CREATE against the rest of the view.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Judge every object of a cluster (or of manifests) now: what enforce mode would deny.",
        discussion: """
            The view comes from the API server with --kubeconfig (or $KUBECONFIG, or the pod's service
            account), or from manifests with --state. The report has the shape of validate's.
            Exit status: 0 no deny finding, 1 deny findings, 2 usage error, unreadable input or no view.
            """)

    @Option(help: "kubeconfig of the cluster to audit (default: $KUBECONFIG's first file, else the pod's service account).")
    var kubeconfig: String?
    @Option(help: "With --kubeconfig: the context to use instead of current-context.")
    var context: String?
    @Option(parsing: .upToNextOption, help: "Manifests (files or directories) to audit instead of a cluster.")
    var state: [String] = []
    @Option(help: "text or json.")
    var output: OutputFormat = .text
    @Option(help: "Seconds to wait for the cluster view to be listed.")
    var syncTimeout: Double = 60
    @Option(help: .hidden) var serviceAccountDir = KubeConfiguration.serviceAccountDirectory
    @OptionGroup var rules: RuleSettingsOptions

    func validate() throws {
        if kubeconfig != nil && !state.isEmpty { throw ValidationError("--kubeconfig (a cluster) and --state (manifests) exclude each other") }
        guard syncTimeout.isFinite, (0.1...3600).contains(syncTimeout) else { throw ValidationError("--sync-timeout must be in 0.1...3600 seconds") }
    }

    func run() async throws {
        let report: AuditCommandReport
        if !state.isEmpty {
            report = AuditCommandReport(manifests: try loadManifests(state), settings: rules.settings)
        } else {
            report = try await auditCluster()
        }
        switch output {
        case .json: print(report.json())
        case .text: print(report.text(), terminator: "")
        }
        if report.summary.denied > 0 { throw ExitCode(1) }
    }

    private func auditCluster() async throws -> AuditCommandReport {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "mtls-guard")
        let configuration: KubeConfiguration
        do {
            if let path = kubeconfig ?? KubeConfiguration.kubeconfigPath() {
                configuration = try KubeConfiguration.load(kubeconfig: path, context: context)
            } else if let inCluster = try KubeConfiguration.inCluster(serviceAccountDirectory: serviceAccountDir) {
                configuration = inCluster
            } else {
                throw ValidationError("no cluster: give --kubeconfig (or set $KUBECONFIG), run in a pod, or audit manifests with --state")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        let token = BearerToken(fixed: configuration.token, file: configuration.tokenFile, reloadInterval: .seconds(60))
        let client: APIClient
        do {
            client = try APIClient(configuration: configuration, token: token)
        } catch {
            throw ValidationError("cannot use the API server's TLS settings from \(configuration.origin): \(error)")
        }
        let watcher = ClusterWatcher(client: client, logger: logger)
        let reflectors = Task { await watcher.run() }
        defer { reflectors.cancel() }
        let deadline = ContinuousClock.now + .milliseconds(Int64(syncTimeout * 1000))
        while watcher.snapshot == nil {
            if ContinuousClock.now >= deadline {
                throw unusableInput(ClusterNotSynced(reason: watcher.notSyncedReason ?? "not synced", server: configuration.serverDescription))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let snapshot = watcher.snapshot else { throw ExitCode(2) }
        let results = await LiveAudit.judgeAll(snapshot, watcher: watcher, settings: rules.settings)
        return AuditCommandReport(results.objects.values.sorted { $0.subject < $1.subject }, source: "cluster")
    }

    struct ClusterNotSynced: Error, CustomStringConvertible {
        var reason: String
        var server: String
        var description: String { "the cluster view of \(server) did not sync in time: \(reason)" }
    }
}

/// The report of `audit`: validate's JSON shape (`results`, `summary`), one result per object.
struct AuditCommandReport: Encodable {
    var results: [ValidationReport.Result]
    var summary: ValidationReport.Summary

    init(_ objects: [AuditedObject], source: String) {
        results = objects.map { object in
            ValidationReport.Result(apiVersion: object.apiVersion, kind: object.subject.kind, namespace: object.subject.key.namespace,
                                    name: object.subject.key.name, source: source, findings: object.findings.map(ReportedFinding.init))
        }
        summary = Self.summary(of: results)
    }

    /// Manifests as the view: judged in dependency order (Secrets, Policies, referrers), reported in input order.
    init(manifests: [LoadedObject], settings: Settings) {
        let snapshot = InMemorySnapshot(objects: manifests.map(\.object))
        let judge = AuditJudge(settings: settings)
        var verdicts: [Int: AuditedObject] = [:]
        var policies: [ObjectKey: AuditedObject] = [:]
        let order = manifests.indices.sorted { AuditSubject(manifests[$0].object) < AuditSubject(manifests[$1].object) }
        for index in order {
            let verdict = judge.judge(manifests[index].object, snapshot: snapshot) { policies[$0] }
            if verdict.subject.isPolicy { policies[verdict.subject.key] = verdict }
            verdicts[index] = verdict
        }
        results = manifests.indices.compactMap { index in
            guard let verdict = verdicts[index] else { return nil }
            let object = manifests[index].object
            let namespace = ValidationReport.clusterScopedKinds.contains(object.kind) ? nil : verdict.subject.key.namespace
            return ValidationReport.Result(apiVersion: object.apiVersion, kind: object.kind, namespace: namespace, name: object.name,
                                           source: manifests[index].source, findings: verdict.findings.map(ReportedFinding.init))
        }
        summary = Self.summary(of: results)
    }

    static func summary(of results: [ValidationReport.Result]) -> ValidationReport.Summary {
        let denied = results.filter { $0.findings.contains { $0.severity == "deny" } }.count
        let warned = results.filter { r in
            r.findings.contains { $0.severity == "warn" } && !r.findings.contains { $0.severity == "deny" }
        }.count
        return ValidationReport.Summary(objects: results.count, denied: denied, warned: warned)
    }

    func json() -> String { (try? prettyJSON()) ?? "{}" }

    /// As validate prints it: one line per finding, then the summary.
    func text() -> String {
        var out = ""
        for result in results {
            let name = result.namespace.map { "\($0)/\(result.name)" } ?? result.name
            for finding in result.findings {
                out += "\(result.source): \(result.kind) \(name): \(finding.field): \(finding.message) (\(finding.rule)) [\(finding.severity)]\n"
            }
        }
        out += "\(summary.objects) objects, \(summary.denied) denied, \(summary.warned) warned\n"
        return out
    }
}
