/// What the webhook does with findings (`--mode`).
public enum ReviewMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Deny on deny findings; return warn findings as warnings.
    case enforce
    /// Allow everything; return every finding as a warning.
    case warn
    /// Allow everything and return nothing; findings only go to the audit log.
    case audit
}

/// What the rules concluded about one request, independent of the mode.
///
/// Metrics and the audit log carry this next to the mode, so an audit-mode rollout shows how many
/// requests enforce mode would have denied.
public enum ReviewDecision: String, Sendable, Hashable, Codable {
    /// No finding.
    case allow
    /// Only warn-severity findings.
    case warn
    /// At least one deny-severity finding.
    case deny
}
