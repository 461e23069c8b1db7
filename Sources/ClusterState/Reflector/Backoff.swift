/// client-go's reflector backoff: a delay that starts at `initial`, doubles on every failure up to
/// `cap`, is jittered so many clients do not retry in step, and starts over once the source has
/// been healthy for `resetAfter`.
public struct Backoff: Sendable {
    /// The timing of retries; injectable so tests run in seconds.
    public struct Policy: Sendable {
        public var initial: Duration = .milliseconds(800)
        public var cap: Duration = .seconds(30)
        /// Up to this fraction is added at random to each delay.
        public var jitter = 0.25
        public var resetAfter: Duration = .seconds(120)
        public init() {}
    }

    public let policy: Policy
    private var current: Duration?
    private var lastFailure: ContinuousClock.Instant?

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// The delay before the next attempt after a failure at `now`; `random` in 0..<1 picks the jitter.
    public mutating func nextDelay(now: ContinuousClock.Instant, random: Double) -> Duration {
        if let lastFailure, now - lastFailure >= policy.resetAfter { current = nil }
        lastFailure = now
        let base = current.map { min($0 * 2, policy.cap) } ?? policy.initial
        current = base
        let jittered = base * (1 + policy.jitter * min(max(random, 0), 1))
        return min(jittered, policy.cap * (1 + policy.jitter))
    }

    /// The delay for a failure that retries at the cap (403: permissions change slowly).
    public func capDelay(random: Double) -> Duration {
        policy.cap * (1 + policy.jitter * min(max(random, 0), 1))
    }
}
