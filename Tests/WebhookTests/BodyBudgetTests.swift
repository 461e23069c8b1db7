import Testing
@testable import Webhook

@Suite struct BodyBudgetTests {
    @Test func reservationsWithinTheCapacityDoNotWait() async {
        let budget = BodyBudget(capacity: 100)
        #expect(await budget.reserve(60, timeout: .milliseconds(10)))
        #expect(await budget.reserve(40, timeout: .milliseconds(10)))
        #expect(budget.available == 0)
        budget.release(60)
        budget.release(40)
        #expect(budget.available == 100)
    }

    /// `tryReserve` takes room only when it is there now and nobody is waiting for it first.
    @Test func tryReserveNeverWaitsNorJumpsTheQueue() async throws {
        let budget = BodyBudget(capacity: 100)
        #expect(budget.tryReserve(70))
        #expect(!budget.tryReserve(40))
        #expect(budget.available == 30)
        let waiter = Task { await budget.reserve(50, timeout: .seconds(5)) }
        var polls = 0
        while !Self.isWaiting(budget) {
            polls += 1
            guard polls < 5_000 else {
                Issue.record("the reservation of 50 never queued")
                return
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(!budget.tryReserve(10))  // room for it, but the waiter came first
        budget.release(70)
        #expect(await waiter.value)
        #expect(budget.tryReserve(10))
        #expect(budget.available == 40)
    }

    /// Whether a reservation is queued: a try of zero bytes fails only then.
    static func isWaiting(_ budget: BodyBudget) -> Bool { !budget.tryReserve(0) }

    @Test func aReservationThatDoesNotFitWaitsThenTimesOut() async {
        let budget = BodyBudget(capacity: 100)
        #expect(await budget.reserve(80, timeout: .milliseconds(10)))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await budget.reserve(50, timeout: .milliseconds(200)) == false)
        #expect(clock.now - start >= .milliseconds(150))
        #expect(budget.available == 20)
    }

    @Test func releasingWakesTheWaiterInOrder() async {
        let budget = BodyBudget(capacity: 100)
        #expect(await budget.reserve(100, timeout: .milliseconds(10)))
        async let first = budget.reserve(70, timeout: .seconds(10))
        try? await Task.sleep(for: .milliseconds(50))
        budget.release(100)
        #expect(await first)
        #expect(budget.available == 30)
    }

    @Test func anOversizedReservationIsCappedAtTheCapacity() async {
        let budget = BodyBudget(capacity: 100)
        #expect(await budget.reserve(1_000, timeout: .milliseconds(10)))
        #expect(budget.available == 0)
        budget.release(1_000)
        #expect(budget.available == 100)
    }
}
