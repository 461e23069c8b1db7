import NIOConcurrencyHelpers
import Testing
@testable import Webhook

@Suite("Readiness")
struct ReadinessTests {
    @Test func liveViewKeepsReadinessOffAndSaysWhy() {
        let readiness = Readiness()
        let problem = NIOLockedValueBox<String?>("not synced: secrets (type=nginx.org/ca)")
        readiness.certificateLoaded()
        readiness.clusterViewReady { problem.withLockedValue { $0 } }
        #expect(!readiness.isReady)
        #expect(readiness.notReadyReason == "cluster view not synced: secrets (type=nginx.org/ca)")
        problem.withLockedValue { $0 = nil }
        #expect(readiness.isReady)
        #expect(readiness.notReadyReason == nil)
        readiness.beginShutdown()
        #expect(readiness.notReadyReason == "shutting down")
    }

    @Test func certificateFirst() {
        let readiness = Readiness()
        readiness.clusterViewReady()
        #expect(readiness.notReadyReason == "serving certificate not loaded")
        readiness.certificateLoaded()
        #expect(readiness.isReady)
    }
}
