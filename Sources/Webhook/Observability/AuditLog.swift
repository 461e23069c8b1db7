import KubeModel
import Logging
import Rules

/// Writes one JSON line per review that has findings, in every mode: the record an audit-mode
/// rollout is judged by. Holds no object content: Secret data never reaches the log.
///
/// The request only queues what the line needs; an `AuditWriter` thread formats and writes it,
/// so a slow or blocked stderr never holds up an answer. The queue is bounded: when it is full a
/// line is dropped, counted in `mtls_guard_audit_lines_dropped_total`, and reported in a log line
/// of its own once the writer catches up, so no line is ever lost without a trace.
public struct AuditLog: Sendable {
    /// Lines waiting at most; ~1 KB each, so the queue stays under a few MB.
    public static let defaultCapacity = 1024

    let writer: AuditWriter

    /// - Parameter dropped: called on the request path with the number of lines just dropped.
    public init(logger: Logger, capacity: Int = AuditLog.defaultCapacity,
                dropped: @escaping @Sendable (Int) -> Void = { _ in }) {
        writer = AuditWriter(logger: logger, capacity: capacity, dropped: dropped)
    }

    /// The most characters of a request field (uid, names, user) written: the line stays bounded
    /// whatever a caller sends (findings are bounded by `Evaluation`).
    static let maximumFieldLength = 256

    static func bounded(_ value: String) -> String {
        value.count <= maximumFieldLength ? value : String(value.prefix(maximumFieldLength)) + "..."
    }

    public func record(request: AdmissionRequest, mode: ReviewMode, outcome: AdmissionReviewer.Outcome) {
        guard !outcome.evaluation.findings.isEmpty else { return }
        writer.enqueue(AuditEntry(
            uid: request.uid, kind: request.kind.kind, namespace: request.namespace ?? "", name: request.name ?? "",
            operation: request.operation.rawValue, user: request.userInfo.username ?? "", dryRun: request.dryRun ?? false,
            mode: mode, decision: outcome.decision, allowed: outcome.response.allowed, evaluation: outcome.evaluation))
    }

    /// Blocks until every queued line is written (shutdown, tests).
    public func flush() { writer.flush() }
}

/// What one audit line says, captured on the request path without formatting anything.
struct AuditEntry: Sendable {
    var uid, kind, namespace, name, operation, user: String
    var dryRun: Bool
    var mode: ReviewMode
    var decision: ReviewDecision
    var allowed: Bool
    var evaluation: Evaluation

    func write(to logger: Logger) {
        let findings: [Logger.Metadata.Value] = evaluation.findings.map {
            .dictionary([
                "rule": .string($0.rule.rawValue), "severity": .string($0.severity.rawValue),
                "field": .string($0.field.description), "message": .string($0.message),
            ])
        }
        logger.info("admission review", metadata: [
            "audit": "true",
            "uid": .string(AuditLog.bounded(uid)),
            "kind": .string(kind),
            "namespace": .string(AuditLog.bounded(namespace)),
            "name": .string(AuditLog.bounded(name)),
            "operation": .string(operation),
            "user": .string(AuditLog.bounded(user)),
            "dryRun": .string(dryRun ? "true" : "false"),
            "mode": .string(mode.rawValue),
            "decision": .string(decision.rawValue),
            "allowed": .string(allowed ? "true" : "false"),
            "findings": .array(findings),
            "skippedStateRules": .array(evaluation.skippedStateRules.map { .string($0.rawValue) }),
        ])
    }
}
