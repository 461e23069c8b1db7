import Foundation
import KubeModel
import Rules

/// The decision core of the webhook: AdmissionRequest in, AdmissionResponse out. Knows nothing of
/// HTTP, so `mtls-guard review` prints exactly what the server answers.
public struct AdmissionReviewer: Sendable {
    public var mode: ReviewMode
    public var settings: @Sendable () -> Settings

    /// - Parameter settings: called once per review, so `now` is current.
    public init(mode: ReviewMode, settings: @escaping @Sendable () -> Settings) {
        self.mode = mode
        self.settings = settings
    }

    /// The result of one review: what to answer, and what to log and count.
    public struct Outcome: Sendable {
        public var response: AdmissionResponse
        public var decision: ReviewDecision
        public var evaluation: Evaluation
    }

    public func review(_ request: AdmissionRequest, snapshot: (any ClusterSnapshot)?) -> Outcome {
        let evaluation = RuleEngine.evaluate(ReviewInput(request), snapshot: snapshot, settings: settings())
        let decision: ReviewDecision =
            evaluation.hasDenials ? .deny : (evaluation.findings.isEmpty ? .allow : .warn)
        var response = AdmissionResponse(uid: request.uid, allowed: true)
        switch mode {
        case .audit:
            break
        case .warn:
            response.warnings = Self.warnings(for: evaluation, includeDenials: true)
        case .enforce:
            response.warnings = Self.warnings(for: evaluation, includeDenials: false)
            if decision == .deny {
                response.allowed = false
                response.status = AdmissionStatus(
                    code: 403,
                    message: Self.denialMessage(request: request, findings: evaluation.findings),
                    reason: "Forbidden",
                    status: "Failure")
            }
        }
        if mode != .audit, decision != .allow {
            let rules = Set(evaluation.findings.map(\.rule.rawValue)).sorted().joined(separator: ",")
            response.auditAnnotations = ["decision": decision.rawValue, "rules": rules]
        }
        if response.warnings?.isEmpty == true { response.warnings = nil }
        return Outcome(response: response, decision: decision, evaluation: evaluation)
    }

    /// One line per deny finding, after a line naming the object, so `kubectl apply` shows all of
    /// them at once.
    static func denialMessage(request: AdmissionRequest, findings: [Finding]) -> String {
        let denials = findings.filter { $0.severity == .deny }
        let object = request.objectDisplayName
        let count = denials.count == 1 ? "1 mTLS violation" : "\(denials.count) mTLS violations"
        return ([("\(object): \(count)")] + denials.map { "- \($0)" }).joined(separator: "\n")
    }

    /// One warning naming the rules that needed the cluster view, as many as fit in 120 characters.
    static func skippedStateWarning(_ rules: [String]) -> String {
        let head = "cluster state unavailable, not checked: "
        var named: [String] = []
        for (index, rule) in rules.enumerated() {
            let rest = rules.count - index - 1
            let tail = rest > 0 ? " and \(rest) more" : ""
            let candidate = head + (named + [rule]).joined(separator: ", ") + tail
            if candidate.count > WarningList.perWarningLimit, !named.isEmpty { break }
            named.append(rule)
        }
        let rest = rules.count - named.count
        return head + named.joined(separator: ", ") + (rest > 0 ? " and \(rest) more" : "")
    }

    static func warnings(for evaluation: Evaluation, includeDenials: Bool) -> [String] {
        var list = WarningList()
        if !evaluation.skippedStateRules.isEmpty {
            list.append(skippedStateWarning(evaluation.skippedStateRules.map(\.rawValue)))
        }
        for finding in evaluation.findings where includeDenials || finding.severity == .warn {
            list.append(WarningList.format(
                prefix: finding.severity == .deny ? "[deny] " : "",
                field: finding.field.description, message: finding.message, rule: finding.rule.rawValue))
        }
        return list.finished()
    }
}

extension AdmissionRequest {
    /// `Ingress team-a/cafe`, for messages and logs.
    public var objectDisplayName: String {
        let object = currentObject ?? previousObject
        let name = name ?? object?["metadata"]?["name"]?.stringValue
            ?? object?["metadata"]?["generateName"]?.stringValue.map { $0 + "<generated>" } ?? "<unnamed>"
        if let namespace, !namespace.isEmpty { return "\(kind.kind) \(namespace)/\(name)" }
        return "\(kind.kind) \(name)"
    }
}
