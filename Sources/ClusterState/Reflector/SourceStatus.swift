/// What is known about one source, for readiness, metrics and logs.
public struct SourceStatus: Sendable {
    /// A LIST of this source completed at least once (or its CRD is absent).
    public var syncedOnce = false
    /// The verb the API server refused with 403, until the source syncs.
    public var forbiddenVerb: String?
    /// Objects held.
    public var objects = 0
    /// Last watch event or bookmark (or completed LIST).
    public var lastActivity: ContinuousClock.Instant?
    /// Relists by reason (`initial`, `expired`, `too-large-resource-version`, `expired-continue`, `recheck`, `error`).
    public var relists: [String: Int] = [:]
    /// Watches re-opened, by reason (`timeout`, `closed`, `stalled`, `error`).
    public var watchRestarts: [String: Int] = [:]
    /// API errors by HTTP status code (`connection` when there was no response).
    public var apiErrors: [String: Int] = [:]

    public init() {}
}
