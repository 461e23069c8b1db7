import ArgumentParser
import Audit
import Certificates
import ClusterState
import Foundation
import KubeModel
import Logging
import Rules
import Webhook

/// `mtls-guard serve`: the admission webhook.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the validating admission webhook over HTTPS (system OpenSSL).",
        discussion: """
            Without --cert/--key, a development CA and serving certificate (SANs localhost, 127.0.0.1, ::1)
            are created once under --certs-dir and reused; point your client at <certs-dir>/ca.crt.
            SIGTERM turns /readyz off, waits --shutdown-delay, drains in-flight requests and exits 0.

            The cluster view for the rules that look at other objects: live from the API server with \
            --kubeconfig (or $KUBECONFIG, or the pod's service account when running in a pod), from \
            manifests with --state, or none with --no-cluster. /readyz fails until the live view has \
            listed every source once.
            """)

    @Option(help: "Serving certificate chain (PEM). Reloaded when it changes on disk.")
    var cert: String?
    @Option(help: "Serving private key (PEM).")
    var key: String?
    @Option(help: "Directory for development certificates when --cert/--key are not given.")
    var certsDir = "certs"
    @Option(help: "Address to listen on.")
    var host = "0.0.0.0"
    @Option(help: "HTTPS port for /validate, /healthz, /readyz.")
    var port = 8443
    @Option(help: "Plain-HTTP port for /metrics (0 disables it).")
    var metricsPort = 9090
    @Option(help: "enforce: deny on deny findings; warn: allow with warnings; audit: allow, only log.")
    var mode: ReviewMode = .enforce
    @Option(parsing: .upToNextOption, help: "Manifests (files or directories) that form the cluster view.")
    var state: [String] = []
    @OptionGroup var cluster: ClusterConnectionOptions
    @Flag(help: "No cluster view at all: rules that look at other objects are skipped (with a warning).")
    var noCluster = false
    @Option(help: .hidden) var watchTimeoutSeconds: Int?
    @Option(help: .hidden) var watchIdleGrace: Double = 30
    @Option(help: .hidden) var backoffInitial: Double = 0.8
    @Option(help: .hidden) var backoffCap: Double = 30
    @Option(help: .hidden) var resourceRecheckInterval: Double = 60
    @Option(help: .hidden) var tokenReloadInterval: Double = 60
    @Option(help: .hidden) var pageSize = 500
    @Option(help: "Require client certificates signed by this CA (the API server's).")
    var clientCA: String?
    @Option(name: .customLong("client-cn"), help: "With --client-ca: accepted client certificate common names (repeatable).")
    var clientCNs: [String] = []
    @Option(help: "Seconds between readiness turning off and the listener closing on SIGTERM.")
    var shutdownDelay: Double = 5
    @Option(help: "Seconds an idle keep-alive connection stays open.")
    var idleTimeout: Double = 60
    @Option(help: "Seconds a client has to send a complete request head (from connecting, or from its first byte after an answer).")
    var headerReadTimeout: Double = 5
    @Option(help: "Most connections the HTTPS listener holds at once; beyond it, the connection idle the longest is closed.")
    var maxConnections = 1024
    @Option(help: "Most connections the metrics and probe port holds at once (same policy).")
    var maxMetricsConnections = 64
    @Option(help: "Seconds between checks of the certificate files for changes.")
    var certificateCheckInterval: Double = 10
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info
    @Option(help: "With the live view: time between full audit passes (e.g. 1h, 30m, 90s; changes are audited as they come).")
    var auditInterval: AuditInterval = AuditInterval(seconds: 3600)
    @Option(help: "With the live view: publish audit findings as wgpolicyk8s.io PolicyReports (true or false).")
    var policyReports = true
    @OptionGroup var rules: RuleSettingsOptions

    func validate() throws {
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if !(1...1_000_000).contains(maxConnections) { throw ValidationError("--max-connections must be in 1...1000000") }
        if !(1...1_000_000).contains(maxMetricsConnections) { throw ValidationError("--max-metrics-connections must be in 1...1000000") }
        if !clientCNs.isEmpty && clientCA == nil { throw ValidationError("--client-cn needs --client-ca") }
        if noCluster && (cluster.kubeconfig != nil || !state.isEmpty) { throw ValidationError("--no-cluster excludes --kubeconfig and --state") }
        if cluster.kubeconfig != nil && !state.isEmpty { throw ValidationError("--kubeconfig (live view) and --state (manifests) exclude each other") }
        if !(1...10_000).contains(pageSize) { throw ValidationError("--page-size must be in 1...10000") }
        if let watchTimeoutSeconds, !(1...3600).contains(watchTimeoutSeconds) { throw ValidationError("--watch-timeout-seconds must be in 1...3600") }
        for (name, value) in [("--watch-idle-grace", watchIdleGrace), ("--backoff-initial", backoffInitial), ("--backoff-cap", backoffCap),
                              ("--resource-recheck-interval", resourceRecheckInterval), ("--token-reload-interval", tokenReloadInterval)]
        where !(value.isFinite && (0.01...86_400).contains(value)) {
            throw ValidationError("\(name) must be a number of seconds in 0.01...86400")
        }
        for (name, value, range) in [("--shutdown-delay", shutdownDelay, 0...3600.0), ("--idle-timeout", idleTimeout, 0.001...86_400),
                                     ("--certificate-check-interval", certificateCheckInterval, 0.001...86_400),
                                     ("--header-read-timeout", headerReadTimeout, 0.05...3600)]
        where !(value.isFinite && range.contains(value)) {
            throw ValidationError("\(name) must be a number of seconds in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    func run() async throws {
        MallocArenas.limitUnlessConfigured()
        let logLevel = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "mtls-guard")
        let (certFile, keyFile) = try servingCertificate(logger: logger)

        let clusterView = try makeClusterView(logger: logger)

        var configuration = WebhookServerConfiguration(certificateFile: certFile, privateKeyFile: keyFile)
        configuration.host = host
        configuration.port = port
        configuration.metricsPort = metricsPort == 0 ? nil : metricsPort
        configuration.mode = mode
        configuration.maximumConnections = maxConnections
        configuration.maximumMetricsConnections = maxMetricsConnections
        configuration.headerReadTimeout = Self.duration(headerReadTimeout)
        configuration.clientCAFile = clientCA
        configuration.clientCommonNames = clientCNs
        configuration.shutdownDelay = .milliseconds(Int64(shutdownDelay * 1000))
        configuration.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        configuration.certificateCheckInterval = .milliseconds(Int64(max(0.05, certificateCheckInterval) * 1000))
        configuration.releaseStartupPages = true
        let settings = rules.settings
        let server = WebhookServer(configuration: configuration, clusterView: clusterView, logger: logger) {
            var current = settings
            current.now = Date()
            return current
        }
        logger.info("mtls-guard starting", metadata: ["mode": .string(mode.rawValue)])
        guard let watcher = clusterView.live else {
            // With --state the view is complete at start; without one the engine reports what it skips.
            server.readiness.clusterViewReady()
            try await server.run()
            return
        }
        server.readiness.clusterViewReady { watcher.notSyncedReason }
        let reflectors = Task { await watcher.run() }
        defer { reflectors.cancel() }
        let audit = startAudit(watcher: watcher, metrics: AuditMetrics(registry: server.metrics.registry), logger: logger)
        defer { audit.cancel() }
        try await server.run()
    }

    /// The background audit of the live view, in a task of its own at low priority: it never
    /// runs on the admission path.
    private func startAudit(watcher: ClusterWatcher, metrics: AuditMetrics, logger: Logger) -> Task<Void, Never> {
        var configuration = LiveAudit.Configuration()
        configuration.interval = .milliseconds(Int64(auditInterval.seconds * 1000))
        let publisher = policyReports ? PolicyReportPublisher(client: watcher.client, logger: logger) : nil
        let settings = rules.settings
        let audit = LiveAudit(watcher: watcher, configuration: configuration, publisher: publisher, logger: logger,
                              settings: {
                                  var current = settings
                                  current.now = Date()
                                  return current
                              },
                              onPass: { results, expiry, pass in metrics.record(results, expiry: expiry, pass: pass) })
        logger.info("audit of the live view enabled", metadata: [
            "intervalSeconds": .stringConvertible(auditInterval.seconds), "policyReports": .string(policyReports ? "true" : "false"),
        ])
        return Task(priority: .background) { await audit.run() }
    }

    /// The view the "needs state" rules read, chosen and logged at start.
    private func makeClusterView(logger: Logger) throws -> ClusterView {
        if noCluster {
            logger.info("cluster view: none (--no-cluster); rules that look at other objects are skipped")
            return ClusterView()
        }
        if !state.isEmpty {
            let loaded = try loadManifests(state)
            logger.info("cluster view: manifests (--state)", metadata: ["objects": .stringConvertible(loaded.count)])
            return ClusterView(InMemorySnapshot(objects: loaded.map(\.object)))
        }
        guard let configuration = try cluster.configuration() else {
            logger.notice("cluster view: none (not in a pod, no --kubeconfig, $KUBECONFIG or --state); rules that look at other objects are skipped")
            return ClusterView()
        }
        let (client, token) = try ClusterConnectionOptions.client(for: configuration, tokenReload: Self.duration(tokenReloadInterval), logger: logger)
        var timing = ClusterWatcher.Timing()
        if let watchTimeoutSeconds { timing.watchTimeoutSeconds = watchTimeoutSeconds...watchTimeoutSeconds }
        timing.watchIdleGrace = Self.duration(watchIdleGrace)
        timing.backoff.initial = Self.duration(backoffInitial)
        timing.backoff.cap = Self.duration(max(backoffCap, backoffInitial))
        timing.resourceRecheckInterval = Self.duration(resourceRecheckInterval)
        timing.pageSize = pageSize
        logger.info("cluster view: live from the API server", metadata: [
            "server": .string(configuration.serverDescription), "from": .string(configuration.origin),
            "auth": .string(configuration.clientCertificatePEM != nil ? "client certificate" : (token.isConfigured ? "bearer token" : "none")),
        ])
        return ClusterView(live: ClusterWatcher(client: client, timing: timing, logger: logger))
    }

    private static func duration(_ seconds: Double) -> Duration { .milliseconds(Int64(seconds * 1000)) }

    /// The given pair, or the development pair under `certsDir`, created on first use.
    private func servingCertificate(logger: Logger) throws -> (String, String) {
        if let cert, let key { return (cert, key) }
        let directory = URL(fileURLWithPath: certsDir)
        let certFile = directory.appendingPathComponent("tls.crt").path
        let keyFile = directory.appendingPathComponent("tls.key").path
        let caFile = directory.appendingPathComponent("ca.crt").path
        if FileManager.default.fileExists(atPath: certFile), FileManager.default.fileExists(atPath: keyFile) {
            logger.info("using development certificates", metadata: ["ca": .string(caFile)])
        } else {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            _ = try ServingCertificateSet.write(
                to: directory, commonName: "mtls-guard development", sans: ["localhost", "127.0.0.1", "::1"],
                keyType: .ecdsaP256, validity: 365 * 24 * 3600)
            logger.notice("created development certificates; trust the CA to call the webhook", metadata: ["ca": .string(caFile)])
        }
        return (certFile, keyFile)
    }
}

extension ReviewMode: ExpressibleByArgument {}

/// `--audit-interval`: a duration such as `1h`, `30m`, `90s`, or plain seconds; at least 1 s.
struct AuditInterval: ExpressibleByArgument, Sendable {
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = argument
        var scale = 1.0
        for (suffix, factor) in units where argument.hasSuffix(suffix) {
            number = String(argument.dropLast(suffix.count))
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite else { return nil }
        let seconds = value * scale
        guard (1...(7 * 86_400)).contains(seconds) else { return nil }
        self.seconds = seconds
    }

    var defaultValueDescription: String { seconds.truncatingRemainder(dividingBy: 3600) == 0 ? "\(Int(seconds / 3600))h" : "\(seconds)s" }
}
extension Logger.Level: @retroactive ExpressibleByArgument {}
