import Testing
@testable import ClusterState

@Suite("Reflector backoff")
struct BackoffTests {
    @Test func doublesToTheCapThenResetsAfterHealth() {
        var backoff = Backoff()
        let start = ContinuousClock.now
        var delays: [Duration] = []
        for step in 0..<8 {
            delays.append(backoff.nextDelay(now: start + .seconds(step), random: 0))
        }
        #expect(delays == [.milliseconds(800), .milliseconds(1600), .milliseconds(3200), .milliseconds(6400),
                           .milliseconds(12800), .milliseconds(25600), .seconds(30), .seconds(30)])
        // Two minutes without a failure: back to the start.
        #expect(backoff.nextDelay(now: start + .seconds(8 + 120), random: 0) == .milliseconds(800))
    }

    @Test func jitterStaysWithinItsFraction() {
        var backoff = Backoff()
        let now = ContinuousClock.now
        let delay = backoff.nextDelay(now: now, random: 1)
        #expect(delay == .milliseconds(1000))
        #expect(backoff.capDelay(random: 0) == .seconds(30))
        #expect(backoff.capDelay(random: 1) == .seconds(37.5))
    }

    @Test func injectablePolicy() {
        var policy = Backoff.Policy()
        policy.initial = .milliseconds(10)
        policy.cap = .milliseconds(40)
        var backoff = Backoff(policy: policy)
        let now = ContinuousClock.now
        let delays = (0..<4).map { _ in backoff.nextDelay(now: now, random: 0) }
        #expect(delays == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(40)])
    }
}
