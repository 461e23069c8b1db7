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
    /// `spec.rules` of `object` read straight into the view (`AdmissionRequest.objectIngressRules`);
    /// replace it together with `object`.
    public var objectIngressRules: [IngressView.Rule]?

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
        objectIngressRules = request.objectIngressRules
    }

    /// A CREATE of `object` in `namespace`: how `validate` and the audit judge an object as it stands.
    public init(creating object: KubeObject, namespace: String?) {
        self.init(operation: .create, kind: GroupVersionKind(group: object.group, version: object.version, kind: object.kind),
                  namespace: namespace, name: object.metadata.name, object: object.raw, oldObject: nil)
        objectIngressRules = object.ingressRules
    }

    /// The object the request is judged by (`object`, `oldObject` for DELETE), completed from the
    /// request where the document omits identity (`RuleEngine.kubeObject`).
    public var subject: KubeObject? {
        if operation == .delete { return oldObject.flatMap { RuleEngine.kubeObject($0, input: self) } }
        return object.flatMap { RuleEngine.kubeObject($0, input: self, ingressRules: objectIngressRules) }
    }
}

/// The engine's verdict material for one request.
public struct Evaluation: Sendable, Equatable {
    /// Every finding, in deterministic output order.
    public var findings: [Finding]
    /// "Needs state" rules that were skipped because no cluster view was available.
    public var skippedStateRules: [RuleID]

    /// The most findings one rule reports for one object; the rest are counted in one more finding.
    public static let maximumFindingsPerRule = 20
    /// The most characters of a finding's message (and of its field path) kept; the rest is counted.
    public static let maximumMessageLength = 1024

    /// Keeps the answer, the warnings and the audit line bounded whatever the object: at most
    /// `maximumFindingsPerRule` findings per rule (then one summary finding, denying if any dropped
    /// finding denies; the first reported are kept) and messages of at most `maximumMessageLength` characters.
    public init(findings: [Finding], skippedStateRules: [RuleID] = []) {
        // No rule can pass its cap when there are no more findings than that in all (nearly always).
        guard findings.count > Self.maximumFindingsPerRule else {
            self.findings = findings.map(Self.bounded).sortedForOutput()
            self.skippedStateRules = skippedStateRules
            return
        }
        var kept: [Finding] = []
        var perRule: [RuleID: Int] = [:]
        var dropped: [RuleID: (count: Int, severity: Severity, field: FieldPath)] = [:]
        // Capped in the order the rules report (their most telling finding first), then sorted.
        for finding in findings {
            let seen = perRule[finding.rule, default: 0]
            perRule[finding.rule] = seen + 1
            if seen < Self.maximumFindingsPerRule {
                kept.append(Self.bounded(finding))
            } else {
                let previous = dropped[finding.rule]
                dropped[finding.rule] = ((previous?.count ?? 0) + 1,
                                         min(previous?.severity ?? finding.severity, finding.severity),
                                         previous?.field ?? Self.bounded(finding).field)
            }
        }
        for (rule, summary) in dropped {
            kept.append(Finding(rule: rule, severity: summary.severity, field: summary.field,
                                message: "\(summary.count) more finding(s) of this rule not listed (at most \(Self.maximumFindingsPerRule) per rule are reported)"))
        }
        self.findings = kept.sortedForOutput()
        self.skippedStateRules = skippedStateRules
    }

    static func bounded(_ finding: Finding) -> Finding {
        var finding = finding
        finding.message = Self.truncated(finding.message)
        // `truncated` keeps a short enough path as it is; only a long one is rebuilt.
        if finding.field.description.utf8.count > Self.maximumMessageLength {
            finding.field = FieldPath(Self.truncated(finding.field.description))
        }
        return finding
    }

    static func truncated(_ text: String) -> String {
        guard text.utf8.count > Self.maximumMessageLength else { return text }
        let total = text.count
        guard total > Self.maximumMessageLength else { return text }
        return String(text.prefix(Self.maximumMessageLength)) + "... (+\(total - Self.maximumMessageLength) more characters)"
    }

    public var hasDenials: Bool { findings.contains { $0.severity == .deny } }
}

/// Entry point of the rule catalogue (`RuleCatalogue`, docs/rules.md): pure and synchronous.
public enum RuleEngine {
    /// Applies every rule that concerns `input.kind` and returns the findings.
    ///
    /// CREATE and UPDATE judge `object`; DELETE judges `oldObject` (what is being removed).
    /// `snapshot` is `nil` when no cluster view is available: "needs state" rules are then skipped
    /// and listed in `Evaluation.skippedStateRules`.
    public static func evaluate(_ input: ReviewInput, snapshot: (any ClusterSnapshot)?, settings: Settings) -> Evaluation {
        guard let object = input.subject,
              let kind = ResourceKind(group: input.kind.group, kind: input.kind.kind) ?? ResourceKind(object)
        else { return Evaluation(findings: []) }
        // Resources of other ingress classes belong to another controller (docs/rules.md, "Never checked").
        guard settings.checks(object, as: kind) else { return Evaluation(findings: []) }
        let previous = input.operation == .update ? input.oldObject.flatMap { kubeObject($0, input: input) } : nil

        var findings: [Finding] = []
        var skipped: [RuleID] = []
        /// Runs a "needs state" rule family, or records it as skipped.
        func withState(_ ids: [RuleID], _ rules: (any ClusterSnapshot) -> [Finding]) {
            guard !ReviewCancellation.isCurrentCancelled else { return }
            if let snapshot { findings += rules(snapshot) } else { skipped += ids }
        }

        switch (kind, input.operation) {
        case (.policy, .create), (.policy, .update):
            let view = PolicyView(object)
            findings += PolicyRules.findings(view)
            withState(PolicyReferenceRules.ruleIDs) { PolicyReferenceRules.findings(view, snapshot: $0, settings: settings) }
            if input.operation == .update {
                withState(["policy/in-use-update"]) {
                    DeleteRules.policyUpdateFindings(old: previous, new: object, snapshot: $0, settings: settings)
                }
            }
        case (.policy, .delete):
            withState(["policy/in-use-delete"]) { DeleteRules.policyDeleteFindings(object, snapshot: $0, settings: settings) }

        case (.ingress, .create), (.ingress, .update):
            let view = IngressView(object)
            // Read by the annotation rules and the reference rules alike: parsed once.
            let policies = PolicyAnnotation.Lists(view.annotations)
            findings += IngressRules.findings(view, policies: policies)
            withState(IngressRules.stateRuleIDs) {
                IngressRules.referenceFindings(view, policies: policies, snapshot: $0, settings: settings)
            }

        case (.virtualServer, .create), (.virtualServer, .update):
            let view = VirtualServerView(object)
            findings += VirtualServerRules.findings(view)
            withState(VirtualServerRules.stateRuleIDs) { VirtualServerRules.referenceFindings(view, snapshot: $0, settings: settings) }

        case (.virtualServerRoute, .create), (.virtualServerRoute, .update):
            let view = VirtualServerRouteView(object)
            findings += VirtualServerRules.findings(view)
            withState(VirtualServerRules.stateRuleIDs) { VirtualServerRules.referenceFindings(view, snapshot: $0, settings: settings) }

        case (.secret, .create), (.secret, .update):
            // Computed once: secret/in-use-update judges the same content, and certificate parsing
            // (OpenSSL's decoder) is most of the cost of a CA Secret review.
            let content = SecretRules.contentFindings(SecretView(object), root: FieldPath("data"), settings: settings)
            findings += content
            if input.operation == .update {
                withState(["secret/in-use-update"]) {
                    DeleteRules.secretUpdateFindings(object, previous: previous, contentFindings: content, snapshot: $0, settings: settings)
                }
            }
        case (.secret, .delete):
            withState(["secret/in-use-delete"]) { DeleteRules.secretDeleteFindings(object, snapshot: $0, settings: settings) }

        case (.workload, .create), (.workload, .update):
            findings += MeshRules.findings(object, settings: settings)

        default:
            // DELETE of a referencing object and CONNECT break nothing the catalogue guards.
            break
        }
        return Evaluation(findings: findings, skippedStateRules: skipped)
    }

    /// The "needs state" findings of an object that references Policies (Ingress, VirtualServer,
    /// VirtualServerRoute): used to judge what a Policy change does to its referrers.
    static func referenceFindings(of object: KubeObject, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        guard settings.checks(object) else { return [] }
        switch ResourceKind(object) {
        case .ingress?:
            return IngressRules.referenceFindings(IngressView(object), snapshot: snapshot, settings: settings)
        case .virtualServer?:
            return VirtualServerRules.referenceFindings(VirtualServerView(object), snapshot: snapshot, settings: settings)
        case .virtualServerRoute?:
            return VirtualServerRules.referenceFindings(VirtualServerRouteView(object), snapshot: snapshot, settings: settings)
        default:
            return []
        }
    }

    /// The object as a `KubeObject`, with `apiVersion`, `kind`, `namespace` and `name` filled in from the
    /// request when the document omits them (the API server always sends them; hand-written reviews may not).
    /// `ingressRules`: the object's `spec.rules`, read straight into the view (`ReviewInput.objectIngressRules`).
    static func kubeObject(_ value: JSONValue, input: ReviewInput, ingressRules: [IngressView.Rule]? = nil) -> KubeObject? {
        guard case .object(var members) = value else { return nil }
        if members["apiVersion"]?.stringValue == nil { members["apiVersion"] = .string(input.kind.apiVersion) }
        if members["kind"]?.stringValue == nil { members["kind"] = .string(input.kind.kind) }
        guard var object = KubeObject(.object(members)) else { return nil }
        if object.metadata.namespace == nil { object.metadata.namespace = input.namespace }
        if object.metadata.name == nil { object.metadata.name = input.name }
        object.ingressRules = ingressRules
        return object
    }
}
