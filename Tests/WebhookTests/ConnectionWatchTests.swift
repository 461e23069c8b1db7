import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import Webhook

/// `ConnectionWatch`'s two timeouts on an embedded channel (virtual time): the header-read timeout
/// from the first byte until a head, the keep-alive idle timeout from an answer until the next
/// byte, never while a request is being answered, and each counted from its own start although the
/// connection keeps one timer that requests do not move.
@Suite struct ConnectionWatchTests {
    struct Harness {
        let channel = EmbeddedChannel()
        let watch: ConnectionWatch

        /// A header-read timeout of 2 s and an idle timeout of 10 s.
        init() throws {
            watch = ConnectionWatch(slots: ConnectionSlots(limit: 8), headerReadTimeout: .seconds(2),
                                    idleTimeout: .seconds(10), logger: Logger(label: "test"))
            try channel.pipeline.syncOperations.addHandler(watch)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func advance(_ seconds: Int64) { channel.embeddedEventLoop.advanceTime(by: .seconds(seconds)) }
        func bytes() throws { try channel.writeInbound(ByteBuffer(string: "x")) }
        /// One request: a head, then its answer.
        func request() {
            watch.requestHeadReceived()
            watch.responsesFinished()
        }
        var isOpen: Bool { channel.isActive }

        /// Still open one second before `seconds` from now, closed at `seconds`.
        func expectCloses(in seconds: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
            advance(seconds - 1)
            #expect(isOpen, "closed early", sourceLocation: sourceLocation)
            advance(1)
            #expect(!isOpen, "still open", sourceLocation: sourceLocation)
        }
    }

    @Test func noHeadWithinTheHeaderReadTimeoutCloses() throws {
        try Harness().expectCloses(in: 2)
    }

    @Test func aBusyConnectionIsNeverClosed() throws {
        let harness = try Harness()
        harness.watch.requestHeadReceived()
        harness.advance(60)
        #expect(harness.isOpen)
        harness.watch.responsesFinished()
        harness.expectCloses(in: 10)
    }

    /// Many requests, each starting its own timeouts: the idle timeout counts from the last answer,
    /// and bytes after it shorten the deadline to the header-read timeout from those bytes.
    @Test func timeoutsCountFromTheirOwnStartAcrossRequests() throws {
        let harness = try Harness()
        for _ in 0..<5 {
            harness.advance(1)
            harness.request()
            harness.advance(5)
            try harness.bytes()
        }
        harness.request()
        harness.advance(9)
        #expect(harness.isOpen)
        try harness.bytes()  // a head begins: 2 s from now, not the idle timeout's 1 s left
        harness.expectCloses(in: 2)
    }

    /// Bytes arriving while the timer waits for the (later) idle deadline bring it forward.
    @Test func anEarlierDeadlineMovesTheTimer() throws {
        let harness = try Harness()
        harness.request()  // idle until 10 s
        harness.advance(3)  // the timer set for the first head (2 s) has fired and waits for 10 s
        try harness.bytes()  // a head begins: due by 5 s
        harness.expectCloses(in: 2)
    }
}
