import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Webhook

/// `HTTP1Semantics` on an embedded channel: the interim `100 Continue` and the order of answers.
@Suite struct HTTP1SemanticsTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP1Semantics(maximumBodySize: 1024, watch: nil, isDraining: { false }))
        return channel
    }

    static func post(expecting: Bool, length: Int = 2) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/validate")
        head.headers.add(name: "Content-Length", value: String(length))
        if expecting { head.headers.add(name: "Expect", value: "100-continue") }
        return head
    }

    /// The status of each head written, in order.
    static func written(_ channel: EmbeddedChannel) throws -> [UInt] {
        var statuses: [UInt] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .head(let head) = part { statuses.append(head.status.code) }
        }
        return statuses
    }

    static func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    @Test func continueIsSentAtOnceWhenNothingIsPending() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.post(expecting: true)))
        #expect(try Self.written(channel) == [100])
    }

    /// Behind an unanswered pipelined request, `100 Continue` waits for that request's answer.
    @Test func continueWaitsForTheAnswersBeforeIt() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.post(expecting: false)))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeInbound(HTTPServerRequestPart.head(Self.post(expecting: true)))
        #expect(try Self.written(channel) == [])
        try Self.answer(channel)
        #expect(try Self.written(channel) == [200, 100])
        try Self.answer(channel)
        #expect(try Self.written(channel) == [200])
    }

    /// A body announced over the limit gets no `100 Continue` (the answer refuses it), then or later.
    @Test func tooLargeGetsNoContinue() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTPServerRequestPart.head(Self.post(expecting: false)))
        try channel.writeInbound(HTTPServerRequestPart.head(Self.post(expecting: true, length: 4096)))
        try Self.answer(channel)
        #expect(try Self.written(channel) == [200])
    }
}
