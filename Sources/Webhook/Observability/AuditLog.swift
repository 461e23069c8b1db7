import KubeModel
import Logging
import Rules

/// Writes one JSON line per review that has findings, in every mode: the record an audit-mode
/// rollout is judged by. Holds no object content: Secret data never reaches the log.
public struct AuditLog: Sendable {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// The most characters of a request field (uid, names, user) written: the line stays bounded
    /// whatever a caller sends (findings are bounded by `Evaluation`).
    static let maximumFieldLength = 256

    static func bounded(_ value: String) -> String {
        value.count <= maximumFieldLength ? value : String(value.prefix(maximumFieldLength)) + "..."
    }

    public func record(request: AdmissionRequest, mode: ReviewMode, outcome: AdmissionReviewer.Outcome) {
        guard !outcome.evaluation.findings.isEmpty else { return }
        let findings: [Logger.Metadata.Value] = outcome.evaluation.findings.map {
            .dictionary([
                "rule": .string($0.rule.rawValue), "severity": .string($0.severity.rawValue),
                "field": .string($0.field.description), "message": .string($0.message),
            ])
        }
        logger.info("admission review", metadata: [
            "audit": "true",
            "uid": .string(Self.bounded(request.uid)),
            "kind": .string(request.kind.kind),
            "namespace": .string(Self.bounded(request.namespace ?? "")),
            "name": .string(Self.bounded(request.name ?? "")),
            "operation": .string(request.operation.rawValue),
            "user": .string(Self.bounded(request.userInfo.username ?? "")),
            "dryRun": .string((request.dryRun ?? false) ? "true" : "false"),
            "mode": .string(mode.rawValue),
            "decision": .string(outcome.decision.rawValue),
            "allowed": .string(outcome.response.allowed ? "true" : "false"),
            "findings": .array(findings),
            "skippedStateRules": .array(outcome.evaluation.skippedStateRules.map { .string($0.rawValue) }),
        ])
    }
}
