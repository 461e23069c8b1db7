import Foundation
import KubeModel

/// What the engine is asked to judge: one admission request, reduced to what the rules read.
public struct ReviewInput: Sendable {
    public var operation: AdmissionOperation
    public var kind: GroupVersionKind
    public var namespace: String?
    public var name: String?
    /// The object after the change; `nil` for DELETE.
    public var object: JSONValue?
    /// The object before the change, for UPDATE and DELETE.
    public var oldObject: JSONValue?

    public init(operation: AdmissionOperation, kind: GroupVersionKind, namespace: String?, name: String?,
                object: JSONValue?, oldObject: JSONValue?) {
        self.operation = operation
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.object = object
        self.oldObject = oldObject
    }

    public init(_ request: AdmissionRequest) {
        self.init(operation: request.operation, kind: request.kind, namespace: request.namespace,
                  name: request.name, object: request.currentObject, oldObject: request.previousObject)
    }
}

/// The engine's verdict material for one request.
public struct Evaluation: Sendable, Equatable {
    /// Every finding, in deterministic output order.
    public var findings: [Finding]
    /// "Needs state" rules that were skipped because no cluster view was available.
    public var skippedStateRules: [RuleID]

    public init(findings: [Finding], skippedStateRules: [RuleID] = []) {
        self.findings = findings.sortedForOutput()
        self.skippedStateRules = skippedStateRules
    }

    public var hasDenials: Bool { findings.contains { $0.severity == .deny } }
}

/// Entry point of the rule catalogue (RULES.md): pure and synchronous.
public enum RuleEngine {
    /// Applies every rule that concerns `input.kind` and returns the findings.
    ///
    /// `snapshot` is `nil` when no cluster view is available: "needs state" rules are then skipped
    /// and listed in `Evaluation.skippedStateRules`.
    public static func evaluate(_ input: ReviewInput, snapshot: (any ClusterSnapshot)?, settings: Settings) -> Evaluation {
        // Placeholder until the catalogue lands (issue 3).
        Evaluation(findings: [])
    }
}
