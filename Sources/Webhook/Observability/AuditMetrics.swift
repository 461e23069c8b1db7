import Audit
import ClusterState
import Foundation
import NIOConcurrencyHelpers
import Prometheus
import Rules

/// The metrics of the background audit, in the webhook's registry: what is wrong now
/// (`mtls_guard_violations`), when each mTLS certificate stops working
/// (`mtls_guard_mtls_certificate_expiry_timestamp_seconds`), and what the last pass cost.
public final class AuditMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    /// Expiry series currently exported, so a Secret that leaves the mTLS set-up loses its series.
    private let exportedExpiry = NIOLockedValueBox([ObjectKey: Gauge]())
    /// Violation series exported so far: one whose findings are gone is set to 0, not left at its
    /// last count (a full pass starts from fresh results that name only what is wrong now).
    private let exportedViolations = NIOLockedValueBox([AuditResults.ViolationKey: Gauge]())

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mtls_guard", metricName: metric, unitName: unit, helpText: help)
    }

    /// Publishes the state after one audit pass.
    public func record(_ results: AuditResults, expiry: [ObjectKey: Date], pass: LiveAudit.Pass) {
        // Labels are bounded: rule IDs of the catalogue, two severities, six kinds.
        exportedViolations.withLockedValue { exported in
            for (key, gauge) in exported where results.violations[key] == nil { gauge.set(Int64(0)) }
            for (key, count) in results.violations {
                let gauge = exported[key] ?? registry.makeGauge(
                    descriptor: Self.name("violations", "", "Current audit findings of the objects in the cluster, by rule, severity and kind."),
                    labels: [("rule", key.rule.rawValue), ("severity", key.severity.rawValue), ("kind", key.kind)])
                gauge.set(Int64(count))
                exported[key] = gauge
            }
        }
        exportedExpiry.withLockedValue { exported in
            for (key, gauge) in exported where expiry[key] == nil {
                registry.unregisterGauge(gauge)
                exported[key] = nil
            }
            for (key, notAfter) in expiry {
                let gauge = exported[key] ?? registry.makeGauge(
                    descriptor: Self.name("mtls_certificate_expiry", "timestamp_seconds",
                                          "Earliest notAfter (Unix time) of the certificates in a CA or TLS Secret used for mTLS."),
                    labels: [("namespace", key.namespace), ("secret", key.name)])
                gauge.set(notAfter.timeIntervalSince1970)
                exported[key] = gauge
            }
        }
        let kind = pass.full ? "full" : "incremental"
        registry.makeGauge(descriptor: Self.name("audit_last_pass_objects", "", "Objects judged by the last audit pass, by kind of pass."),
                           labels: [("pass", kind)]).set(Int64(pass.judged))
        registry.makeGauge(descriptor: Self.name("audit_last_pass_duration", "seconds", "Duration of the last audit pass, by kind of pass."),
                           labels: [("pass", kind)]).set(pass.duration.inSeconds)
        registry.makeCounter(descriptor: Self.name("audit_passes", "total", "Audit passes, by kind of pass."),
                             labels: [("pass", kind)]).increment()
    }
}
