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
