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

    @OptionGroup var cluster: ClusterConnectionOptions
    @Option(parsing: .upToNextOption, help: "Manifests (files or directories) to audit instead of a cluster.")
    var state: [String] = []
    @Option(help: "text or json.")
    var output: OutputFormat = .text
    @Option(help: "Seconds to wait for the cluster view to be listed.")
    var syncTimeout: Double = 60
    @OptionGroup var rules: RuleSettingsOptions

    func validate() throws {
        if cluster.kubeconfig != nil && !state.isEmpty { throw ValidationError("--kubeconfig (a cluster) and --state (manifests) exclude each other") }
        guard syncTimeout.isFinite, (0.1...3600).contains(syncTimeout) else { throw ValidationError("--sync-timeout must be in 0.1...3600 seconds") }
    }

    func run() async throws {
        let report: ValidationReport
        if !state.isEmpty {
            report = ValidationReport(auditing: try loadManifests(state), settings: rules.settings)
        } else {
            report = try await auditCluster()
        }
        switch output {
        case .json: print(report.json())
        case .text: print(report.text(), terminator: "")
        }
        if report.summary.denied > 0 { throw ExitCode(1) }
    }

    private func auditCluster() async throws -> ValidationReport {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "mtls-guard")
        guard let configuration = try cluster.configuration() else {
            throw ValidationError("no cluster: give --kubeconfig (or set $KUBECONFIG), run in a pod, or audit manifests with --state")
        }
        let (client, _) = try ClusterConnectionOptions.client(for: configuration, tokenReload: .seconds(60), logger: logger)
        let watcher = ClusterWatcher(client: client, logger: logger)
        let reflectors = Task { await watcher.run() }
        defer { reflectors.cancel() }
        let deadline = ContinuousClock.now + .milliseconds(Int64(syncTimeout * 1000))
        guard let snapshot = await watcher.firstSnapshot(before: deadline, polling: .milliseconds(50)) else {
            throw unusableInput(ClusterNotSynced(reason: watcher.notSyncedReason ?? "not synced", server: configuration.serverDescription))
        }
        let results = await LiveAudit.judgeAll(snapshot, watcher: watcher, settings: rules.settings)
        return ValidationReport(audited: results.objects.values.sorted { $0.subject < $1.subject }, source: "cluster")
    }

    struct ClusterNotSynced: Error, CustomStringConvertible {
        var reason: String
        var server: String
        var description: String { "the cluster view of \(server) did not sync in time: \(reason)" }
    }
}

/// The report of `audit`: validate's report, one result per object.
extension ValidationReport {
    init(audited objects: [AuditedObject], source: String) {
        self.init(results: objects.map { object in
            Result(apiVersion: object.apiVersion, kind: object.subject.kind, namespace: object.subject.key.namespace,
                   name: object.subject.key.name, source: source, findings: object.findings.map(ReportedFinding.init))
        })
    }

    /// Manifests as the view: judged in dependency order (Secrets, Policies, referrers), reported in input order.
    init(auditing manifests: [LoadedObject], settings: Settings) {
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
        self.init(results: manifests.indices.compactMap { index in
            guard let verdict = verdicts[index] else { return nil }
            let object = manifests[index].object
            let namespace = Self.clusterScopedKinds.contains(object.kind) ? nil : verdict.subject.key.namespace
            return Result(apiVersion: object.apiVersion, kind: object.kind, namespace: namespace, name: object.name,
                          source: manifests[index].source, findings: verdict.findings.map(ReportedFinding.init))
        })
    }
}
