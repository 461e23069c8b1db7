import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Rules
import Testing
@testable import Webhook

/// `ValidateWire` on an embedded channel, fed the bytes TLS would decrypt: which requests it
/// answers from the bytes, which go on unchanged to NIO's codec (here a recorder of the bytes it
/// would receive), in what order, its deadline, budget and connection ends; and, against NIO's
/// own HTTP/1 decoder, that every head it reads as a review is one the decoder reads the same way.
/// The whole pipeline over real TLS, with real clients, is covered by the end-to-end tests.
@Suite struct ValidateWireTests {
    /// The bytes the next handler (NIO's HTTP/1 decoder in the server) receives.
    final class Recorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var bytes: [UInt8] = []
        var events: [String] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { bytes += unwrapInboundIn(data).readableBytesView }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { events.append("\(event)") }
    }

    struct Harness {
        let channel = EmbeddedChannel()
        let recorder = Recorder()
        let budget: BodyBudget

        init(budget: Int = 1 << 20, draining: Bool = false) throws {
            self.budget = BodyBudget(capacity: budget)
            let responder = WebhookResponder(
                reviewer: AdmissionReviewer(mode: .enforce, settings: { Settings() }), clusterView: ClusterView(),
                readiness: Readiness(), metrics: WebhookMetrics(), auditLog: AuditLog(logger: Logger(label: "test")),
                workers: ReviewFixtures.workers, bodyBudget: self.budget,
                connectionSlots: ConnectionSlots(limit: 8), logger: Logger(label: "test"))
            try channel.pipeline.syncOperations.addHandler(ValidateWire(responder: responder, watch: nil, isDraining: { draining }))
            try channel.pipeline.syncOperations.addHandler(recorder)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        }

        /// Delivers `bytes` in reads of `chunk` bytes (all at once by default), each read ended.
        func send(_ bytes: [UInt8], chunk: Int? = nil) throws {
            let size = max(1, chunk ?? bytes.count)
            for start in stride(from: 0, to: bytes.count, by: size) {
                try channel.writeInbound(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + size)]))
            }
        }

        /// The answers written so far, split at their heads' ends, with their JSON bodies.
        func answers() throws -> [(head: String, json: [String: Any])] {
            var written: [UInt8] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += buffer.readableBytesView }
            var answers: [(String, [String: Any])] = []
            var rest = written[...]
            while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let body = rest[end.upperBound...].prefix(length)
                answers.append((head, (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]))
                rest = rest[(end.upperBound + length)...]
            }
            #expect(rest.isEmpty, "bytes written after the last complete answer")
            return answers
        }
    }

    static func uid(_ json: [String: Any]) -> String? { (json["response"] as? [String: Any])?["uid"] as? String }

    /// A review request as the API server sends it, with `extra` header lines (CRLF-terminated).
    static func request(uid: String, target: String = "/validate?timeout=10s", extra: String = "",
                        contentType: String = "application/json", length: Int? = nil) -> [UInt8] {
        let body = ReviewFixtures.review(uid: uid)
        let head = "POST \(target) HTTP/1.1\r\nHost: webhook.example:8443\r\nContent-Type: \(contentType)\r\n"
            + "Content-Length: \(length ?? body.count)\r\n\(extra)Accept: application/json, */*\r\n\r\n"
        return Array(head.utf8) + Array(body)
    }

    @Test(arguments: [nil, 1, 7, 100])
    func reviewIsAnsweredFromTheBytes(chunk: Int?) throws {
        let harness = try Harness()
        try harness.send(Self.request(uid: "one"), chunk: chunk)
        let answers = try harness.answers()
        try #require(answers.count == 1)
        #expect(answers[0].head.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "))
        #expect(answers[0].head.contains("\r\nDate: ") && answers[0].head.hasSuffix(" GMT"))
        #expect(!answers[0].head.lowercased().contains("connection"))
        #expect(Self.uid(answers[0].json) == "one")
        #expect(harness.recorder.bytes.isEmpty)
        #expect(harness.budget.available == harness.budget.capacity)
        #expect(harness.channel.isActive)
    }

    /// Pipelined reviews, in one read or cut anywhere, are answered in order.
    @Test(arguments: [nil, 1, 13])
    func pipelinedReviewsAreAnsweredInOrder(chunk: Int?) throws {
        let harness = try Harness()
        try harness.send(Self.request(uid: "a") + Self.request(uid: "b") + Self.request(uid: "c"), chunk: chunk)
        #expect(try harness.answers().map { Self.uid($0.json) } == ["a", "b", "c"])
        #expect(harness.recorder.bytes.isEmpty)
    }

    /// Field names in any case, a JSON media type with parameters, and `Connection: keep-alive`.
    @Test func fieldsAreReadAsHTTPReadsThem() throws {
        let harness = try Harness()
        let body = ReviewFixtures.review(uid: "case")
        let head = "POST /validate?timeout=5%30ms HTTP/1.1\r\ncontent-length:\(body.count)\r\nCONTENT-TYPE: \t application/json; charset=utf-8 \r\nconnection: Keep-Alive\r\n\r\n"
        try harness.send(Array(head.utf8) + Array(body))
        #expect(try harness.answers().map { Self.uid($0.json) } == ["case"])
        #expect(harness.recorder.bytes.isEmpty)
    }

    /// What this handler does not read goes on to NIO's codec byte for byte, and so does everything
    /// after it on the connection.
    @Test(arguments: [
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /validatex?timeout=10s HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "POST /validate HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nUpgrade: h2c\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: Upgrade\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: +2\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2 2\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{}",
        "POST /validate HTTP/1.1\nContent-Type: application/json\nContent-Length: 2\n\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n X-Folded: yes\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nBad Name: x\r\n\r\n{}",
        "POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Value: \u{1}\r\n\r\n{}",
        "POST /validate?a=<b> HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "POST  /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "post /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "\r\nPOST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        "\u{16}\u{3}\u{1}\u{0}garbage",
    ])
    func otherRequestsGoOnUnchanged(request: String) throws {
        let harness = try Harness()
        let followUp = Self.request(uid: "after")
        try harness.send(Array(request.utf8) + followUp)
        #expect(try harness.answers().isEmpty)
        #expect(harness.recorder.bytes == Array(request.utf8) + followUp)
        #expect(harness.budget.available == harness.budget.capacity)
    }

    /// A head longer than `maximumHeadLength` goes on, even before it is complete.
    @Test func longHeadGoesOn() throws {
        let harness = try Harness()
        let filler = "X-Filler: " + String(repeating: "a", count: ValidateWire.maximumHeadLength) + "\r\n"
        let request = Self.request(uid: "long", extra: filler)
        try harness.send(Array(request.prefix(ValidateWire.maximumHeadLength + 100)))
        #expect(try harness.answers().isEmpty)
        #expect(harness.recorder.bytes == Array(request.prefix(ValidateWire.maximumHeadLength + 100)))
    }

    /// After reviews answered here, a request it does not read goes on from its first byte.
    @Test func switchHappensBetweenRequests() throws {
        let harness = try Harness()
        let probe = Array("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let later = Self.request(uid: "later")
        try harness.send(Self.request(uid: "first") + probe + later)
        #expect(try harness.answers().map { Self.uid($0.json) } == ["first"])
        #expect(harness.recorder.bytes == probe + later)
    }

    @Test(arguments: ["Connection: close\r\n", "Connection: CLOSE\r\n"])
    func connectionCloseIsAnsweredAndCloses(field: String) throws {
        let harness = try Harness()
        try harness.send(Self.request(uid: "last", extra: field) + Self.request(uid: "dropped"))
        let answers = try harness.answers()
        #expect(answers.map { Self.uid($0.json) } == ["last"])
        #expect(answers.first?.head.hasSuffix("\r\nConnection: close") == true)
        #expect(!harness.channel.isActive)
        #expect(harness.recorder.bytes.isEmpty)
    }

    @Test func drainingAnswersWithConnectionClose() throws {
        let harness = try Harness(draining: true)
        try harness.send(Self.request(uid: "drain"))
        #expect(try harness.answers().first?.head.hasSuffix("\r\nConnection: close") == true)
        #expect(!harness.channel.isActive)
    }

    /// Quiesce: an idle connection closes once quiet for the grace period; one with a request on
    /// its way answers it, with `Connection: close`.
    @Test func quiesceClosesWhenQuiet() throws {
        let idle = try Harness()
        idle.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(idle.channel.isActive)
        idle.channel.embeddedEventLoop.advanceTime(by: QuiesceGrace.period + .milliseconds(600))
        #expect(!idle.channel.isActive)
        #expect(idle.recorder.events.isEmpty)

        let busy = try Harness()
        let request = Self.request(uid: "late")
        try busy.send(Array(request.prefix(40)))
        busy.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try busy.send(Array(request.dropFirst(40)))
        let answers = try busy.answers()
        #expect(answers.map { Self.uid($0.json) } == ["late"])
        #expect(answers.first?.head.hasSuffix("\r\nConnection: close") == true)
        #expect(!busy.channel.isActive)
    }

    @Test func bodyNotReceivedInTimeIs504AndClosing() throws {
        let harness = try Harness()
        let request = Self.request(uid: "slow", target: "/validate?timeout=50ms")
        try harness.send(Array(request.dropLast(10)))
        #expect(harness.budget.available < harness.budget.capacity)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(60))
        let answers = try harness.answers()
        #expect(answers.first?.head.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n") == true)
        #expect(answers.first?.head.hasSuffix("\r\nConnection: close") == true)
        #expect((answers.first?.json["message"] as? String)?.contains("request body not received") == true)
        #expect(harness.budget.available == harness.budget.capacity)
        #expect(!harness.channel.isActive)
    }

    /// A review that does not fit the body budget goes on to the handlers behind, which wait for it.
    @Test func fullBudgetGoesOn() throws {
        let harness = try Harness(budget: 4096)
        #expect(harness.budget.tryReserve(4000))
        let request = Self.request(uid: "big")
        try harness.send(request)
        #expect(try harness.answers().isEmpty)
        #expect(harness.recorder.bytes == request)
        #expect(harness.budget.available == 96)
    }

    /// The client's half-close: idle, the connection ends; in the middle of a body, 400 and close.
    @Test func halfCloseEndsTheConnection() throws {
        let idle = try Harness()
        try idle.send(Self.request(uid: "done"))
        idle.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try idle.answers().map { Self.uid($0.json) } == ["done"])
        #expect(!idle.channel.isActive)

        let cut = try Harness()
        try cut.send(Array(Self.request(uid: "cut").dropLast(5)))
        cut.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try cut.answers().first?.head.hasPrefix("HTTP/1.1 400 Bad Request\r\n") == true)
        #expect(!cut.channel.isActive)
        #expect(cut.budget.available == cut.budget.capacity)
    }

    @Test func closedConnectionGivesBackTheBudget() throws {
        let harness = try Harness()
        try harness.send(Array(Self.request(uid: "gone").dropLast(10)))
        #expect(harness.budget.available < harness.budget.capacity)
        _ = try harness.channel.finish()
        #expect(harness.budget.available == harness.budget.capacity)
    }

    // MARK: Against NIO's decoder

    /// What NIO's HTTP/1 decoder (llhttp) makes of `bytes`: the head and the body length it
    /// frames, or nil when it refuses them.
    static func decodedByNIO(_ bytes: [UInt8]) -> (head: HTTPRequestHead, body: Int)? {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        guard (try? channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))) != nil,
              (try? channel.writeInbound(ByteBuffer(bytes: bytes))) != nil
        else { return nil }
        var head: HTTPRequestHead?
        var body = 0
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let h): head = h
            case .body(let b): body += b.readableBytes
            case .end: return head.map { ($0, body) }
            }
        }
        return nil
    }

    /// Every head read here as a review is read alike by NIO's decoder: same method, target,
    /// version, body length and keep-alive. The heads are every single edit of the API server's:
    /// each byte replaced by, and preceded by, each byte of a set of separators, letters of both
    /// cases, digits, control and non-ASCII bytes; each byte removed; each line repeated.
    @Test func everyReviewHeadReadsAlikeInNIO() throws {
        let base = Self.request(uid: "m", extra: "Connection: keep-alive\r\n")
        let headLength = try #require(base.firstRange(of: Array("\r\n\r\n".utf8))).upperBound
        let alphabet = Array(" \t\r\n:;,/?%=aAzZ09-_.eEkKcClL\u{7F}".utf8) + [0, 0x80, 0xFF]
        var variants: [[UInt8]] = []
        for at in 0..<headLength {
            for byte in alphabet {
                var replaced = base
                replaced[at] = byte
                var inserted = base
                inserted.insert(byte, at: at)
                variants += [replaced, inserted]
            }
            var removed = base
            removed.remove(at: at)
            variants.append(removed)
        }
        var lineStart = 0
        while let end = base[lineStart..<headLength].firstIndex(of: UInt8(ascii: "\n")) {
            var repeated = base
            repeated.insert(contentsOf: base[lineStart...end], at: lineStart)
            variants.append(repeated)
            lineStart = end + 1
        }
        var readAsReview = 0
        for bytes in variants {
            var targets = ValidateTargets()
            guard case .review(let head) = bytes.withUnsafeBytes({ ValidateWire.read($0, targets: &targets) }),
                  bytes.count >= head.length + head.bodyLength
            else { continue }
            readAsReview += 1
            let framed = Array(bytes.prefix(head.length + head.bodyLength))
            let decoded = try #require(Self.decodedByNIO(framed), "NIO refuses a head read as a review: \(String(decoding: bytes.prefix(head.length), as: UTF8.self).debugDescription)")
            #expect(decoded.head.method == .POST)
            #expect(decoded.head.version == .http1_1)
            #expect(decoded.head.uri.hasPrefix("/validate"))
            #expect(decoded.body == head.bodyLength)
            #expect(decoded.head.isKeepAlive == head.keepAlive)
        }
        // Most edits inside field values keep the head readable: the comparison covers thousands.
        #expect(readAsReview > 2000)
    }
}
