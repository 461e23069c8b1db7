import ArgumentParser
import Certificates
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
            Without --cert/--key, a development CA and serving certificate (SANs localhost, 127.0.0.1)
            are created once under --certs-dir and reused; point your client at <certs-dir>/ca.crt.
            SIGTERM turns /readyz off, waits --shutdown-delay, drains in-flight requests and exits 0.
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
    @OptionGroup var rules: RuleSettingsOptions

    func validate() throws {
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if !(1...1_000_000).contains(maxConnections) { throw ValidationError("--max-connections must be in 1...1000000") }
        if !clientCNs.isEmpty && clientCA == nil { throw ValidationError("--client-cn needs --client-ca") }
        for (name, value, range) in [("--shutdown-delay", shutdownDelay, 0...3600.0), ("--idle-timeout", idleTimeout, 0.001...86_400),
                                     ("--certificate-check-interval", certificateCheckInterval, 0.001...86_400)]
        where !(value.isFinite && range.contains(value)) {
            throw ValidationError("\(name) must be a number of seconds in \(range.lowerBound)...\(range.upperBound)")
        }
    }

    func run() async throws {
        let logLevel = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "mtls-guard")
        let (certFile, keyFile) = try servingCertificate(logger: logger)

        let clusterView = ClusterView()
        if !state.isEmpty {
            let loaded = try loadManifests(state)
            clusterView.replace(with: InMemorySnapshot(objects: loaded.map(\.object)))
            logger.info("cluster view loaded from manifests", metadata: ["objects": .stringConvertible(loaded.count)])
        }

        var configuration = WebhookServerConfiguration(certificateFile: certFile, privateKeyFile: keyFile)
        configuration.host = host
        configuration.port = port
        configuration.metricsPort = metricsPort == 0 ? nil : metricsPort
        configuration.mode = mode
        configuration.maximumConnections = maxConnections
        configuration.maximumMetricsConnections = maxMetricsConnections
        configuration.headerReadTimeout = .milliseconds(Int64(max(0.05, headerReadTimeout) * 1000))
        configuration.clientCAFile = clientCA
        configuration.clientCommonNames = clientCNs
        configuration.shutdownDelay = .milliseconds(Int64(shutdownDelay * 1000))
        configuration.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        configuration.certificateCheckInterval = .milliseconds(Int64(max(0.05, certificateCheckInterval) * 1000))
        let settings = rules.settings
        let server = WebhookServer(configuration: configuration, clusterView: clusterView, logger: logger) {
            var current = settings
            current.now = Date()
            return current
        }
        // With --state the view is complete at start; without it the engine reports what it skips.
        server.readiness.clusterViewReady()
        logger.info("mtls-guard starting", metadata: ["mode": .string(mode.rawValue)])
        try await server.run()
    }

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
extension Logger.Level: @retroactive ExpressibleByArgument {}
