import Rules

/// What the audit currently finds, object by object, with the aggregates the reports and
/// metrics publish kept up to date on every change (no scan of all objects per change).
public struct AuditResults: Sendable {
    /// One series of `mtls_guard_violations`.
    public struct ViolationKey: Hashable, Sendable {
        public var rule: RuleID
        public var severity: Severity
        public var kind: String

        public init(rule: RuleID, severity: Severity, kind: String) {
            self.rule = rule
            self.severity = severity
            self.kind = kind
        }
    }

    /// Every judged object, with or without findings.
    public private(set) var objects: [AuditSubject: AuditedObject] = [:]
    /// Objects with findings, by namespace.
    public private(set) var withFindings: [String: Set<AuditSubject>] = [:]
    /// Current findings by rule, severity and kind.
    public private(set) var violations: [ViolationKey: Int] = [:]
    /// Secrets that are part of an mTLS set-up, with how many objects make them so.
    public private(set) var mTLSSecrets: [ObjectKey: Int] = [:]

    public init() {}

    public subscript(subject: AuditSubject) -> AuditedObject? { objects[subject] }

    /// Records `verdict` for `subject`, or forgets it (`nil`: the object is gone).
    public mutating func set(_ subject: AuditSubject, _ verdict: AuditedObject?) {
        if let old = objects[subject] { account(old, sign: -1) }
        objects[subject] = verdict
        if let verdict { account(verdict, sign: 1) }
    }

    /// Objects with findings in `namespace`, in report order.
    public func findings(in namespace: String) -> [AuditedObject] {
        (withFindings[namespace] ?? []).sorted().compactMap { objects[$0] }
    }

    /// Namespaces with at least one finding.
    public var namespaces: Set<String> { Set(withFindings.keys) }

    public var hasDenials: Bool { violations.contains { $0.key.severity == .deny && $0.value > 0 } }

    private mutating func account(_ verdict: AuditedObject, sign: Int) {
        let subject = verdict.subject
        if !verdict.findings.isEmpty {
            if sign > 0 {
                withFindings[subject.key.namespace, default: []].insert(subject)
            } else {
                withFindings[subject.key.namespace]?.remove(subject)
                if withFindings[subject.key.namespace]?.isEmpty == true { withFindings[subject.key.namespace] = nil }
            }
        }
        for finding in verdict.findings {
            let key = ViolationKey(rule: finding.rule, severity: finding.severity, kind: subject.kind)
            let count = (violations[key] ?? 0) + sign
            // Kept at zero rather than removed: the gauge then reads 0 instead of vanishing.
            violations[key] = max(0, count)
        }
        for secret in verdict.mTLSSecrets {
            let count = (mTLSSecrets[secret] ?? 0) + sign
            mTLSSecrets[secret] = count > 0 ? count : nil
        }
    }
}
