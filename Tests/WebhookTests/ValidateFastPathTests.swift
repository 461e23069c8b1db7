import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Rules
import Testing
@testable import Webhook

/// `ValidateFastPath` on an embedded channel: which requests it answers itself, which go on to
/// Hummingbird's channel (here a recorder), in what order, and its body deadline. The same handler
/// over real TLS, with real clients, is covered by the end-to-end tests (keep-alive, pipelining,
/// slow bodies).
@Suite struct ValidateFastPathTests {
    /// What the next handler (Hummingbird's codec in the server) receives.
    final class Recorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        var parts: [HTTPServerRequestPart] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
    }

    struct Harness {
        /// One pool for the suite: its threads live as long as the test process.
        static let workers = ReviewWorkers(threads: 1)

        let channel = EmbeddedChannel()
        let recorder = Recorder()
        let metrics = WebhookMetrics()
        let budget: BodyBudget

        init(budget: Int = 1 << 20) throws {
            self.budget = BodyBudget(capacity: budget)
            let responder = WebhookResponder(
                reviewer: AdmissionReviewer(mode: .enforce, settings: { Settings() }), clusterView: ClusterView(),
                readiness: Readiness(), metrics: metrics, auditLog: AuditLog(logger: Logger(label: "test")),
                workers: Self.workers, bodyBudget: self.budget, connectionSlots: ConnectionSlots(limit: 8),
                logger: Logger(label: "test"))
            // As in the server: `HTTP1Semantics` before the handler, deciding which answers close.
            let semantics = HTTP1Semantics(maximumBodySize: WebhookResponder.maxBodySize, watch: nil, isDraining: { false })
            try channel.pipeline.syncOperations.addHandler(semantics)
            try channel.pipeline.syncOperations.addHandler(ValidateFastPath(responder: responder, semantics: semantics))
            try channel.pipeline.syncOperations.addHandler(recorder)
        }

        func send(_ head: HTTPRequestHead, body: Data? = nil, end: Bool = true) throws {
            try channel.writeInbound(HTTPServerRequestPart.head(head))
            if let body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: Array(body)))) }
            if end { try channel.writeInbound(HTTPServerRequestPart.end(nil)) }
        }

        /// Sends a review to `uri` whose body stops after 10 bytes and lets 60 ms pass: the status
        /// answered by then, if any.
        func statusAfterStalledBody(uri: String) throws -> HTTPResponseStatus? {
            let body = ValidateFastPathTests.review(uid: "slow")
            try send(ValidateFastPathTests.post(body, uri: uri), body: body.prefix(10), end: false)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(60))
            return try answer()?.0.status
        }

        /// Hummingbird's answer (head and end) to the oldest request it holds, read off the channel.
        func answerAsHummingbird(_ status: HTTPResponseStatus) throws {
            try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status)))
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
            while try channel.readOutbound(as: HTTPServerResponsePart.self) != nil {}
        }

        /// The answer the handler wrote itself, if any: head and body.
        func answer() throws -> (HTTPResponseHead, [String: Any])? {
            guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
            guard case .body(.byteBuffer(let body))? = try channel.readOutbound(as: HTTPServerResponsePart.self),
                  case .end? = try channel.readOutbound(as: HTTPServerResponsePart.self)
            else { Issue.record("an answer without body or end"); return nil }
            let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            return (head, json ?? [:])
        }
    }

    static func review(uid: String, kind: String = "Deployment", group: String = "apps") -> Data {
        let object: [String: Any] = [
            "apiVersion": group.isEmpty ? "v1" : "\(group)/v1", "kind": kind, "metadata": ["name": "web", "namespace": "default"],
            "spec": ["template": ["metadata": ["annotations": ["config.nsm.nginx.com/mtls-mode": "strict"]],
                                  "spec": ["containers": [["name": "app", "image": "nginx"]]]]],
        ]
        let request: [String: Any] = [
            "uid": uid, "kind": ["group": group, "version": "v1", "kind": kind],
            "resource": ["group": group, "version": "v1", "resource": kind.lowercased() + "s"],
            "name": "web", "namespace": "default", "operation": "CREATE", "userInfo": ["username": "alice"], "object": object,
        ]
        let review: [String: Any] = ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request]
        return (try? JSONSerialization.data(withJSONObject: review)) ?? Data()
    }

    static func post(_ body: Data, uri: String = "/validate?timeout=10s", contentType: String = "application/json",
                     length: Int? = nil) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri)
        head.headers.add(name: "Content-Type", value: contentType)
        head.headers.add(name: "Content-Length", value: String(length ?? body.count))
        return head
    }

    @Test func smallReviewIsAnsweredOnTheChannel() throws {
        let harness = try Harness()
        let body = Self.review(uid: "one")
        try harness.send(Self.post(body), body: body)
        let (head, json) = try #require(try harness.answer())
        #expect(head.status == .ok)
        #expect(head.headers["Content-Type"] == ["application/json"])
        #expect(head.headers["Content-Length"].first.flatMap(Int.init) ?? 0 > 0)
        #expect(head.headers["Date"].first?.hasSuffix(" GMT") == true)
        #expect((json["response"] as? [String: Any])?["uid"] as? String == "one")
        #expect(harness.recorder.parts.isEmpty)
        #expect(harness.budget.available == harness.budget.capacity)
        // A second review on the same connection is answered too (the state is reset after each).
        try harness.send(Self.post(Self.review(uid: "two")), body: Self.review(uid: "two"))
        #expect(((try harness.answer())?.1["response"] as? [String: Any])?["uid"] as? String == "two")
    }

    /// A body that arrives in several parts is gathered whole (one part is used as it is).
    @Test(arguments: [1, 2, 7])
    func bodyInPartsIsGathered(parts: Int) throws {
        let harness = try Harness()
        let body = Self.review(uid: "parts")
        try harness.channel.writeInbound(HTTPServerRequestPart.head(Self.post(body)))
        let size = (body.count + parts - 1) / parts
        for start in stride(from: 0, to: body.count, by: size) {
            let piece = body[body.index(body.startIndex, offsetBy: start)..<body.index(body.startIndex, offsetBy: min(body.count, start + size))]
            try harness.channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: Array(piece))))
        }
        try harness.channel.writeInbound(HTTPServerRequestPart.end(nil))
        let (head, json) = try #require(try harness.answer())
        #expect(head.status == .ok)
        #expect((json["response"] as? [String: Any])?["uid"] as? String == "parts")
        #expect(harness.budget.available == harness.budget.capacity)
    }

    @Test func unusableReviewIsA400WithTheReason() throws {
        let harness = try Harness()
        let body = Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.utf8)
        try harness.send(Self.post(body), body: body)
        let (head, json) = try #require(try harness.answer())
        #expect(head.status == .badRequest)
        #expect(json["kind"] as? String == "Status")
    }

    /// Everything but a small JSON review of known length goes on unchanged, in order.
    @Test(arguments: [
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz"),
        ValidateFastPathTests.post(ValidateFastPathTests.review(uid: "x"), uri: "/other"),
        ValidateFastPathTests.post(ValidateFastPathTests.review(uid: "x"), contentType: "text/plain"),
        ValidateFastPathTests.post(ValidateFastPathTests.review(uid: "x"), length: 70 * 1024),
    ])
    func otherRequestsGoOnToHummingbird(head: HTTPRequestHead) throws {
        let harness = try Harness()
        try harness.send(head)
        #expect(try harness.channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(harness.recorder.parts.count == 2)
    }

    @Test func chunkedBodyGoesOnToHummingbird() throws {
        let harness = try Harness()
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/validate")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Transfer-Encoding", value: "chunked")
        try harness.send(head, body: Self.review(uid: "c"))
        #expect(harness.recorder.parts.count == 3)
    }

    /// With a request handed to Hummingbird unanswered, a review behind it goes there too, so
    /// answers keep the order of requests; once Hummingbird's answer ends, reviews come back here.
    @Test func answersKeepRequestOrder() throws {
        let harness = try Harness()
        try harness.send(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/readyz"))
        let body = Self.review(uid: "behind")
        try harness.send(Self.post(body), body: body)
        #expect(harness.recorder.parts.count == 5)
        #expect(try harness.answer() == nil)
        // Hummingbird answers both.
        for _ in 0..<2 { try harness.answerAsHummingbird(.ok) }
        try harness.send(Self.post(body), body: body)
        #expect(((try harness.answer())?.1["response"] as? [String: Any])?["uid"] as? String == "behind")
        #expect(harness.recorder.parts.count == 5)
    }

    /// A review that does not fit the body budget now goes to Hummingbird, which waits its turn.
    @Test func fullBudgetSendsTheReviewOn() throws {
        let harness = try Harness(budget: 4096)
        #expect(harness.budget.tryReserve(4000))
        let body = Self.review(uid: "big")
        try harness.send(Self.post(body), body: body)
        #expect(try harness.answer() == nil)
        #expect(harness.recorder.parts.count == 3)
        #expect(harness.budget.available == 96)
    }

    /// A body that does not arrive within the request's deadline: 504, `Connection: close`, and
    /// what it held is given back.
    @Test func bodyNotReceivedInTimeIs504AndClosing() throws {
        let harness = try Harness()
        let body = Self.review(uid: "slow")
        try harness.send(Self.post(body, uri: "/validate?timeout=50ms"), body: body.prefix(10), end: false)
        #expect(harness.budget.available < harness.budget.capacity)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(60))
        let (head, json) = try #require(try harness.answer())
        #expect(head.status == .gatewayTimeout)
        #expect(head.headers["Connection"] == ["close"])
        #expect((json["message"] as? String)?.contains("request body not received") == true)
        #expect(harness.budget.available == harness.budget.capacity)
        // The rest of that body, arriving late, is dropped.
        try harness.channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: Array(body.dropFirst(10)))))
        try harness.channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try harness.answer() == nil)
        #expect(harness.recorder.parts.isEmpty)
    }

    /// The deadline is armed when a read ends with the body incomplete, and counts from the head's
    /// arrival: 30 ms pass inside the read, so 25 ms after it the 50 ms deadline has passed.
    @Test func deadlineCountsFromTheHeadNotFromTheEndOfTheRead() throws {
        let harness = try Harness()
        let body = Self.review(uid: "slow")
        harness.channel.pipeline.fireChannelRead(HTTPServerRequestPart.head(Self.post(body, uri: "/validate?timeout=50ms")))
        harness.channel.pipeline.fireChannelRead(HTTPServerRequestPart.body(ByteBuffer(bytes: Array(body.prefix(10)))))
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(30))
        harness.channel.pipeline.fireChannelReadComplete()
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        #expect(try harness.answer() == nil)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(15))
        #expect(try harness.answer()?.0.status == .gatewayTimeout)
    }

    /// The request target is read as Hummingbird's path reads it: a percent-encoded `timeout`
    /// (`5%30ms` is `50ms`) is decoded, and an absolute-form target names the same path.
    @Test(arguments: ["/validate?timeout=5%30ms", "https://webhook.example:8443/validate?timeout=50ms"])
    func requestTargetIsReadAsHummingbirdReadsIt(uri: String) throws {
        let harness = try Harness()
        #expect(try harness.statusAfterStalledBody(uri: uri) == .gatewayTimeout)
        #expect(harness.recorder.parts.isEmpty)
    }

    /// The last target read is remembered per connection (the API server repeats it): a request
    /// with another target on the same connection is read for its own path and deadline.
    @Test func eachRequestOnAConnectionIsReadForItsOwnTarget() throws {
        let harness = try Harness()
        let body = Self.review(uid: "same")
        try harness.send(Self.post(body), body: body)
        #expect(try harness.answer()?.0.status == .ok)
        try harness.send(Self.post(body), body: body)
        #expect(try harness.answer()?.0.status == .ok)
        // Right after `timeout=10s`, a shorter deadline is its own.
        #expect(try harness.statusAfterStalledBody(uri: "/validate?timeout=50ms") == .gatewayTimeout)
        // (The 504 closes that connection: the rest runs on a new one.)
    }

    @Test func anotherPathOnAConnectionIsReadForItself() throws {
        let harness = try Harness()
        let body = Self.review(uid: "same")
        try harness.send(Self.post(body), body: body)
        #expect(try harness.answer()?.0.status == .ok)

        try harness.send(Self.post(body, uri: "/validatex?timeout=10s"), body: body)
        #expect(try harness.answer() == nil)
        #expect(harness.recorder.parts.count == 3)
        try harness.answerAsHummingbird(.notFound)

        // Back to `/validate`, with a shorter deadline than the first request's.
        #expect(try harness.statusAfterStalledBody(uri: "/validate?timeout=50ms") == .gatewayTimeout)
        #expect(harness.recorder.parts.count == 3)
    }

    @Test func closedConnectionGivesBackTheBudget() throws {
        let harness = try Harness()
        let body = Self.review(uid: "gone")
        try harness.send(Self.post(body), body: body.prefix(10), end: false)
        #expect(harness.budget.available < harness.budget.capacity)
        _ = try harness.channel.finish()
        #expect(harness.budget.available == harness.budget.capacity)
    }

    /// The `Date` header matches Foundation's formatting of the same second, across dates.
    @Test(arguments: [0, 951_782_400, 1_764_628_490, 4_107_542_399, -86_401])
    func httpDateMatchesFoundation(seconds: Int) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(HTTPDate.format(secondsSince1970: seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }
}
