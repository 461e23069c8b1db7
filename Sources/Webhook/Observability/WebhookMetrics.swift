import ClusterState
import Foundation
import NIOConcurrencyHelpers
import KubeModel
import Prometheus
import Rules

/// The Prometheus metrics of the webhook, served in text format on `--metrics-port`.
///
/// A registry of its own (not the global `MetricsSystem`) keeps tests and several servers in one
/// process independent.
public final class WebhookMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Up to 10 s: the API server's longest webhook timeout is 30 s, its default 10 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    private let inFlight: Gauge
    private let handshakeFailures: Counter
    private let certificateReloads: Counter
    /// Reload count last reported by the TLS provider, so the counter only ever moves forward.
    private let reportedReloads = NIOLockedValueBox(0)
    private let certificateExpiry: Gauge
    private let ready: Gauge
    private let auditDropped: Counter
    private let connectionsHandedOn: Counter
    /// Cumulative cluster-view counts already turned into counter increments, by metric and labels.
    private let reportedClusterCounts = NIOLockedValueBox([String: Int]())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        inFlight = registry.makeGauge(descriptor: Self.name("requests_in_flight", "", "AdmissionReview requests being handled."))
        handshakeFailures = registry.makeCounter(descriptor: Self.name("tls_handshake_failures", "total", "TLS handshakes that failed."))
        certificateReloads = registry.makeCounter(descriptor: Self.name("certificate_reloads", "total", "Serving certificate reloads since start."))
        certificateExpiry = registry.makeGauge(descriptor: Self.name("certificate_expiry", "timestamp_seconds", "notAfter of the serving certificate (Unix time)."))
        ready = registry.makeGauge(descriptor: Self.name("ready", "", "1 when the webhook reports ready."))
        auditDropped = registry.makeCounter(descriptor: Self.name(
            "audit_lines_dropped", "total", "Audit lines not written because the audit queue was full (the log could not keep up)."))
        connectionsHandedOn = registry.makeCounter(descriptor: Self.name(
            "http_connections_handed_on", "total",
            "Webhook-port connections handed from the API server's request path to the general HTTP path (probes, other clients, other HTTP forms)."))
    }

    /// A webhook-port connection left `ValidateWire` for NIO's codec and the handlers behind it.
    public func connectionHandedOn() { connectionsHandedOn.increment() }

    fileprivate static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mtls_guard", metricName: metric, unitName: unit, helpText: help)
    }

    /// Records one answered AdmissionReview.
    public func recordReview(request: AdmissionRequest, mode: ReviewMode, outcome: AdmissionReviewer.Outcome, duration: Duration) {
        let kind = Self.kindLabel(request.kind.kind)
        let key = ReviewLabels(kind: kind, operation: request.operation, decision: outcome.decision, mode: mode,
                               dryRun: request.dryRun ?? false)
        let findings = outcome.evaluation.findings
        // One lock for every handle of the request; the registry (descriptor and labels hashed under
        // its own lock, per metric) is only asked the first time a label set is seen.
        let (requests, latency, findingCounters) = handles.withLockedValue { cache in
            (cache.requests(key, in: registry), cache.duration(kind, in: registry),
             findings.map { cache.findings(FindingLabels(rule: $0.rule.rawValue, severity: $0.severity.rawValue), in: registry) })
        }
        requests.increment()
        latency.record(duration)
        for counter in findingCounters { counter.increment() }
    }

    /// Handles resolved once per label set. Every label comes from a closed set (known kinds,
    /// operations, decisions, modes, the rule catalogue, HTTP codes the responder sends), so the
    /// cache stays small; `HandleCache.limit` bounds it anyway.
    private let handles = NIOLockedValueBox(HandleCache())

    struct ReviewLabels: Hashable {
        var kind: String
        var operation: AdmissionOperation
        var decision: ReviewDecision
        var mode: ReviewMode
        var dryRun: Bool
    }

    struct FindingLabels: Hashable {
        var rule: String
        var severity: String
    }

    struct HandleCache {
        /// Far above the label sets that exist; a registry lookup serves anything beyond it.
        static let limit = 4096
        private var requestCounters: [ReviewLabels: Counter] = [:]
        private var durations: [String: DurationHistogram] = [:]
        private var findingCounters: [FindingLabels: Counter] = [:]
        private var rejectedCounters: [Int: Counter] = [:]
        private var count = 0

        private mutating func cached<Key: Hashable, Handle>(
            _ key: Key, _ table: WritableKeyPath<HandleCache, [Key: Handle]>, make: () -> Handle
        ) -> Handle {
            if let handle = self[keyPath: table][key] { return handle }
            let handle = make()
            if count < Self.limit {
                self[keyPath: table][key] = handle
                count += 1
            }
            return handle
        }

        mutating func requests(_ labels: ReviewLabels, in registry: PrometheusCollectorRegistry) -> Counter {
            cached(labels, \.requestCounters) {
                registry.makeCounter(descriptor: WebhookMetrics.name("requests", "total", "AdmissionReview requests answered."), labels: [
                    ("kind", labels.kind), ("operation", labels.operation.rawValue),
                    ("decision", labels.decision.rawValue), ("mode", labels.mode.rawValue),
                    ("dry_run", labels.dryRun ? "true" : "false"),
                ])
            }
        }

        mutating func duration(_ kind: String, in registry: PrometheusCollectorRegistry) -> DurationHistogram {
            cached(kind, \.durations) {
                registry.makeDurationHistogram(
                    descriptor: WebhookMetrics.name("request_duration", "seconds", "Time to answer an AdmissionReview."),
                    labels: [("kind", kind)], buckets: WebhookMetrics.latencyBuckets)
            }
        }

        mutating func findings(_ labels: FindingLabels, in registry: PrometheusCollectorRegistry) -> Counter {
            cached(labels, \.findingCounters) {
                registry.makeCounter(
                    descriptor: WebhookMetrics.name("findings", "total", "Rule findings by rule and severity."),
                    labels: [("rule", labels.rule), ("severity", labels.severity)])
            }
        }

        mutating func rejected(_ status: Int, in registry: PrometheusCollectorRegistry) -> Counter {
            cached(status, \.rejectedCounters) {
                registry.makeCounter(
                    descriptor: WebhookMetrics.name("http_rejected", "total", "Requests answered with an HTTP error before review."),
                    labels: [("code", String(status))])
            }
        }
    }

    /// Kinds the webhook is registered for; anything else a caller sends is `other`, so a client
    /// cannot grow the registry without bound with made-up kinds.
    static let knownKinds: Set<String> = [
        "Policy", "Ingress", "VirtualServer", "VirtualServerRoute", "Secret", "Pod", "Deployment", "StatefulSet",
        "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
    ]

    static func kindLabel(_ kind: String) -> String { knownKinds.contains(kind) ? kind : "other" }

    /// Records a request rejected before review (400, 413, 415...).
    public func recordRejected(status: Int) {
        handles.withLockedValue { $0.rejected(status, in: registry) }.increment()
    }

    /// Records audit lines the audit writer could not take because its queue was full.
    public func auditLinesDropped(_ count: Int) {
        auditDropped.increment(by: Int64(count))
    }

    public func requestStarted() { inFlight.increment() }
    public func requestFinished() { inFlight.decrement() }
    public func handshakeFailed() { handshakeFailures.increment() }
    public func setReady(_ isReady: Bool) { ready.set(isReady ? Int64(1) : Int64(0)) }

    public func certificateLoaded(notAfter: Date?, reloads: Int) {
        let delta = reportedReloads.withLockedValue { reported -> Int in
            defer { reported = max(reported, reloads) }
            return max(0, reloads - reported)
        }
        if delta > 0 { certificateReloads.increment(by: Int64(delta)) }
        if let notAfter { certificateExpiry.set(notAfter.timeIntervalSince1970) }
    }

    /// Publishes the live view's state: objects, synced, seconds since the last event or bookmark
    /// per source; relists, watch restarts and API errors as counters.
    public func recordClusterState(_ statuses: [WatchSource: SourceStatus], now: ContinuousClock.Instant = .now) {
        for source in WatchSource.allCases {
            let status = statuses[source] ?? SourceStatus()
            let label = ("source", source.rawValue)
            registry.makeGauge(descriptor: Self.name("cluster_objects", "", "Objects held by the live view, by source."), labels: [label])
                .set(Int64(status.objects))
            registry.makeGauge(descriptor: Self.name("cluster_synced", "", "1 once the source has been listed (or its CRD is absent)."), labels: [label])
                .set(status.syncedOnce ? Int64(1) : Int64(0))
            if let last = status.lastActivity {
                let elapsed = now - last
                registry.makeGauge(
                    descriptor: Self.name("cluster_seconds_since_last_event", "", "Seconds since the last watch event or bookmark (or list), by source."),
                    labels: [label]
                ).set(elapsed.inSeconds)
            }
            for (reason, count) in status.relists {
                advance("cluster_relists", "Full LISTs of a source, by reason.", labels: [label, ("reason", reason)], to: count)
            }
            for (reason, count) in status.watchRestarts {
                advance("cluster_watch_restarts", "Watches opened again, by source and reason.", labels: [label, ("reason", reason)], to: count)
            }
            for (code, count) in status.apiErrors {
                advance("cluster_api_errors", "API server errors by source and status code.", labels: [label, ("code", code)], to: count)
            }
        }
    }

    private func advance(_ metric: String, _ help: String, labels: [(String, String)], to total: Int) {
        let key = metric + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let delta = reportedClusterCounts.withLockedValue { reported -> Int in
            let before = reported[key] ?? 0
            reported[key] = max(before, total)
            return max(0, total - before)
        }
        let counter = registry.makeCounter(descriptor: Self.name(metric, "total", help), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }

    /// The exposition text for `/metrics`.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
