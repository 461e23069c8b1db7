import ClusterState
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import OpenSSLTLS
import Rules
import ServiceLifecycle
import UnixSignals

/// Everything `mtls-guard serve` needs to run.
public struct WebhookServerConfiguration: Sendable {
    public var host = "0.0.0.0"
    public var port = 8443
    /// `nil`: the same address as `host`.
    public var metricsHost: String?
    /// `nil` disables the metrics listener.
    public var metricsPort: Int? = 9090
    public var certificateFile: String
    public var privateKeyFile: String
    /// Require a client certificate signed by this CA (the API server's, `--client-ca`).
    public var clientCAFile: String?
    /// With `clientCAFile`: accept only these common names (`--client-cn`).
    public var clientCommonNames: [String] = []
    public var minimumTLSVersion: TLSVersion = .tls12
    public var mode: ReviewMode = .enforce
    /// Time between readiness turning false and the listener closing, so the endpoint leaves the
    /// Service before connections are refused.
    public var shutdownDelay: Duration = .seconds(5)
    public var idleTimeout: Duration = .seconds(60)
    /// Time a client has to send a complete request head, from connecting (TLS handshake included)
    /// or from its first byte after an answer; much shorter than `idleTimeout`.
    public var headerReadTimeout: Duration = .seconds(5)
    /// Worker threads that judge reviews (off the event loops); more than the cores, so a short
    /// review gets a thread while long ones run.
    public var reviewThreads = max(4, 2 * System.coreCount)
    public var handshakeTimeout: Duration = .seconds(10)
    public var certificateCheckInterval: Duration = .seconds(10)
    /// Connections the webhook listener holds at once; a new connection beyond it takes the place of
    /// the one idle the longest, and only when all are busy does accepting pause.
    public var maximumConnections = 1024
    /// Request body bytes held at once across all reviews (two bodies at the 7 MiB limit); larger
    /// reviews beyond it wait their turn, so many concurrent large bodies cannot exhaust memory.
    public var bodyBytesInFlight = 2 * WebhookResponder.maxBodySize
    /// The same for the metrics and probe port.
    public var maximumMetricsConnections = 64
    /// Once the webhook listens, drop the code pages start-up touched (`ResidentCode`). `serve`
    /// sets it; tests that run the server inside the test process leave it off.
    public var releaseStartupPages = false

    public init(certificateFile: String, privateKeyFile: String) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }
}

/// The admission webhook: HTTPS `/validate` on OpenSSL, the metrics port, certificate reload,
/// and an orderly shutdown (readiness off, delay, drain, exit).
public struct WebhookServer: Sendable {
    public let configuration: WebhookServerConfiguration
    public let settings: @Sendable () -> Settings
    public let clusterView: ClusterView
    public let readiness = Readiness()
    public let metrics = WebhookMetrics()
    let logger: Logger

    public init(configuration: WebhookServerConfiguration, clusterView: ClusterView,
                logger: Logger, settings: @escaping @Sendable () -> Settings) {
        self.configuration = configuration
        self.clusterView = clusterView
        self.logger = logger
        self.settings = settings
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    public func run() async throws {
        let metrics = self.metrics
        var tls = TLSServerConfiguration(certificateChainFile: configuration.certificateFile,
                                         privateKeyFile: configuration.privateKeyFile)
        tls.minimumVersion = configuration.minimumTLSVersion
        tls.handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        if let clientCA = configuration.clientCAFile {
            tls.clientCAFile = clientCA
            tls.clientCertificateVerification = .require
        }
        tls.onHandshakeFailure = { _ in metrics.handshakeFailed() }
        let provider = try TLSContextProvider(configuration: tls, logger: logger)
        provider.startWatching(on: MultiThreadedEventLoopGroup.singleton.next(),
                               every: TimeAmount(configuration.certificateCheckInterval))
        defer { provider.stopWatching() }
        readiness.certificateLoaded()
        let live = clusterView.live
        let refreshCertificateMetrics: @Sendable () -> Void = {
            metrics.certificateLoaded(notAfter: provider.certificateNotAfter, reloads: provider.reloadCount)
            if let live { metrics.recordClusterState(live.status.all) }
        }
        refreshCertificateMetrics()

        let auditLog = AuditLog(logger: Self.auditLogger(from: logger), dropped: { metrics.auditLinesDropped($0) })
        defer { auditLog.flush() }  // lines still queued at shutdown are written before exit
        let workers = ReviewWorkers(threads: configuration.reviewThreads)
        let webhookSlots = ConnectionSlots(limit: configuration.maximumConnections)
        let responder = WebhookResponder(
            reviewer: AdmissionReviewer(mode: configuration.mode, settings: settings),
            clusterView: clusterView, readiness: readiness, metrics: metrics,
            auditLog: auditLog, workers: workers,
            bodyBudget: BodyBudget(capacity: configuration.bodyBytesInFlight), connectionSlots: webhookSlots, logger: logger)
        let allowedNames = configuration.clientCommonNames.isEmpty ? nil : Set(configuration.clientCommonNames)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let headerReadTimeout = TimeAmount(configuration.headerReadTimeout)
        let logger = self.logger
        let webhookPort = configuration.port
        let releaseStartupPages = configuration.releaseStartupPages
        let readiness = self.readiness
        let isDraining: @Sendable () -> Bool = { readiness.isShuttingDown }
        let metricsSlots = ConnectionSlots(limit: configuration.maximumMetricsConnections)
        let app = Application(
            responder: responder,
            server: HTTPServerBuilder { httpResponder in
                OpenSSLChannel(
                    GuardedHTTP1Channel(
                        responder: httpResponder,
                        slots: webhookSlots, headerReadTimeout: headerReadTimeout, idleTimeout: idleTimeout,
                        maximumBodySize: WebhookResponder.maxBodySize, reviews: responder, isDraining: isDraining),
                    provider: provider, allowedClientCommonNames: allowedNames)
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                availableConnectionsDelegate: webhookSlots.acceptPolicy),
            onServerRunning: { channel in
                webhookSlots.listening(on: channel)
                logger.info("webhook listening", metadata: [
                    "address": .string("https://\(Self.display(channel.localAddress)):\(channel.localAddress?.port ?? webhookPort)/validate"),
                ])
                if releaseStartupPages {
                    // A second after listening, off the event loop: the rest of start-up (the metrics
                    // listener, the first probes) runs first, without faulting its code back in.
                    Task.detached(priority: .utility) {
                        try? await Task.sleep(for: ResidentCode.delayAfterListening)
                        guard let outcome = ResidentCode.release() else { return }
                        logger.info("start-up code pages released", metadata: [
                            "mappings": .stringConvertible(outcome.mappings),
                            "residentMBBefore": .string(Self.megabytes(outcome.residentKBBefore)),
                            "residentMBAfter": .string(Self.megabytes(outcome.residentKBAfter)),
                        ])
                    }
                }
            },
            logger: logger)
        var services: [any Service] = [app]
        if let metricsPort = configuration.metricsPort {
            services.append(Application(
                responder: MetricsResponder(metrics: metrics, readiness: readiness, refresh: refreshCertificateMetrics),
                server: HTTPServerBuilder { httpResponder in
                    GuardedHTTP1Channel(
                        responder: httpResponder,
                        slots: metricsSlots, headerReadTimeout: headerReadTimeout, idleTimeout: idleTimeout,
                        maximumBodySize: 0, isDraining: isDraining)
                },
                configuration: .init(
                    address: .hostname(configuration.metricsHost ?? configuration.host, port: metricsPort),
                    availableConnectionsDelegate: metricsSlots.acceptPolicy),
                onServerRunning: { channel in
                    metricsSlots.listening(on: channel)
                    logger.info("metrics listening", metadata: [
                        "address": .string("http://\(Self.display(channel.localAddress)):\(channel.localAddress?.port ?? metricsPort)/metrics"),
                    ])
                },
                logger: logger))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
        let delay = configuration.shutdownDelay
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    // Readiness first: the API server keeps calling until the endpoint is gone.
                    readiness.beginShutdown()
                    logger.info("shutdown requested: readiness off, draining after delay", metadata: [
                        "signal": .string("\(signal)"), "delaySeconds": .stringConvertible(delay.inSeconds),
                    ])
                    try? await Task.sleep(for: delay)
                    // Stop accepting first and let the connections already accepted reach their
                    // handlers: one accepted as the listener closes would be dropped half set up.
                    webhookSlots.stopAccepting()
                    metricsSlots.stopAccepting()
                    try? await Task.sleep(for: .milliseconds(200))
                    await group.triggerGracefulShutdown()
                    return
                }
            }
            try await group.run()
            await workers.shutdown()
            logger.info("shutdown complete")
            tasks.cancelAll()
        }
    }
}

extension WebhookServer {
    /// Audit lines are the product of audit mode: `--log-level warning` must not silence them.
    static func auditLogger(from logger: Logger) -> Logger {
        var audit = logger
        if audit.logLevel > .info { audit.logLevel = .info }
        return audit
    }

    static func megabytes(_ kilobytes: Int) -> String {
        String(Double(kilobytes * 10 / 1024) / 10)
    }

    static func display(_ address: SocketAddress?) -> String {
        guard let ip = address?.ipAddress else { return "?" }
        return ip.contains(":") ? "[\(ip)]" : ip
    }
}
