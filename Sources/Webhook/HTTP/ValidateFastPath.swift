import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Answers reviews on the connection's channel from NIO's HTTP parts, without Hummingbird's async
/// request and response streams.
///
/// `ValidateWire`, ahead of NIO's codec, answers the API server's own requests from the bytes;
/// this handler reads the reviews of connections it handed on (HTTP/1.0, `Expect: 100-continue`,
/// heads outside its strict subset of HTTP/1.1).
///
/// Those streams (an async sequence for the request body, an async writer for the answer, a task
/// per request for the body's deadline) cost more per review than decoding and judging it. Every
/// `POST /validate` whose head shows a small JSON body of known length (`Content-Length` up to
/// `WebhookResponder.eventLoopBodyLimit`, as the API server sends it) is read here: the body is
/// collected under the request's deadline, and the review is judged by the same
/// `WebhookResponder` code as on Hummingbird's path, inline when its cost is bounded by the body
/// and on a review worker otherwise. Everything else (probes, other paths and methods, other media
/// types, chunked or large bodies, and a request arriving when the body budget is full) goes on to
/// Hummingbird's channel unchanged, with the same answers as before.
///
/// Sits between `HTTP1Semantics` (which keeps versions, `Connection` and draining right for every
/// answer, this handler's included) and Hummingbird's codec. Answers leave in request order: while
/// a request handed to Hummingbird is unanswered, later ones go to Hummingbird too; while a review
/// here is judged off the event loop, the connection reads nothing more, and what was already read
/// (request parts, a parser error, the client's half-close) waits in order behind it. After an
/// answer that ends the connection (`Connection: close` asked or answered, HTTP/1.0, draining),
/// nothing more is read or judged, as RFC 9112 section 9.6 requires.
final class ValidateFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request this handler answers, while its body arrives.
    private struct Collecting {
        let version: HTTPVersion
        /// The body so far: the decoder's own part when the whole body came in one (nearly always),
        /// otherwise a buffer of the announced length the parts are copied into.
        var body: ByteBuffer?
        /// The announced body length, reserved from the body budget.
        let reserved: Int
        let start: ContinuousClock.Instant
        let expires: ContinuousClock.Instant
        /// `expires` on the event loop's clock, for the timer.
        let loopDeadline: NIODeadline
        var timer: Scheduled<Void>?
    }

    /// What arrived behind a review being judged off the event loop.
    private enum Queued {
        case part(HTTPServerRequestPart)
        case error(any Error)
        case event(Any)
    }

    private enum State {
        /// Between requests.
        case idle
        /// Reading a request whose parts go on to Hummingbird.
        case forwarding
        /// Reading a request this handler answers.
        case collecting(Collecting)
        /// A review of this handler's is judged off the event loop.
        case answering(version: HTTPVersion, reserved: Int)
        /// An answer that leaves the connection was sent; what still arrives is dropped.
        case closing
    }

    /// Items (request parts, parser errors, the client's half-close) kept while a review is judged
    /// off the event loop: at most what one read delivered, since no read is issued meanwhile; a
    /// bound all the same.
    static let maximumQueuedParts = 1024

    private let responder: WebhookResponder
    /// Decides whether an answer ends the connection; this handler's answers pass through it.
    private let semantics: HTTP1Semantics
    private var state = State.idle
    /// Requests handed to Hummingbird whose answers have not ended yet.
    private var forwarded = 0
    private var queued = CircularBuffer<Queued>()
    private var readHeld = false
    private var removed = false
    private var date = HTTPDate()

    init(responder: WebhookResponder, semantics: HTTP1Semantics) {
        self.responder = responder
        self.semantics = semantics
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !enqueued(.part(part), context: context) { process(part, context: context) }
    }

    /// Keeps `item` behind the review being judged (or behind what already waits); false when
    /// nothing waits and it is to be handled now.
    private func enqueued(_ item: Queued, context: ChannelHandlerContext) -> Bool {
        guard isAnswering || !queued.isEmpty else { return false }
        guard queued.count < Self.maximumQueuedParts else {
            responder.logger.warning("closing connection: too much pipelined behind a review", metadata: [
                "queuedParts": .stringConvertible(queued.count),
            ])
            context.close(promise: nil)
            return true
        }
        queued.append(item)
        return true
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client's half-close ends Hummingbird's request stream, which then closes the
        // connection: it waits behind a review being judged, like the parts before it.
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed, enqueued(.event(event), context: context) {
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if forwarded == 0, let started = begin(head, context: context) {
                state = .collecting(started)
            } else {
                forwarded += 1
                state = .forwarding
                context.fireChannelRead(wrapInboundOut(part))
            }
        case (.forwarding, _), (.idle, _):
            context.fireChannelRead(wrapInboundOut(part))
            if case .end = part { state = .idle }
        case (.collecting(var request), .body(let bytes)):
            // Out of the state first, so the body's storage is not shared while it grows.
            state = .idle
            if request.body == nil, bytes.readableBytes >= request.reserved {
                request.body = bytes
            } else {
                if request.body == nil { request.body = context.channel.allocator.buffer(capacity: request.reserved) }
                request.body?.writeImmutableBuffer(bytes)
            }
            state = .collecting(request)
        case (.collecting, .end):
            guard let request = endCollecting() else { return }
            judge(request, context: context)
        case (.collecting, .head):
            // The HTTP decoder never sends a head before the last request's end.
            abandonCollecting()
            context.close(promise: nil)
        case (.answering, _), (.closing, _):
            break
        }
    }

    /// The request this handler answers, with its budget reserved (its deadline is armed at the end
    /// of the read if the body is still incomplete then); `nil` when
    /// the head shows anything but a small JSON review of known length, or the budget is full.
    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> Collecting? {
        guard head.method == .POST else { return nil }
        guard let deadline = targets.deadline(of: head.uri),
              WebhookResponder.isJSON(head.headers.first(name: "content-type")),
              !head.headers.contains(name: "transfer-encoding"),
              let length = head.headers.first(name: "content-length").flatMap({ Int($0) }),
              (0...WebhookResponder.eventLoopBodyLimit).contains(length),
              responder.bodyBudget.tryReserve(length)
        else { return nil }
        responder.metrics.requestStarted()
        let start = ContinuousClock.now
        // The deadline's timer is armed at the end of the read (`channelReadComplete`) only if the
        // body is still incomplete then: the API server's review nearly always arrives in the read
        // that brought its head, and a timer per request was scheduled and cancelled for nothing.
        return Collecting(version: head.version, body: nil,
                          reserved: length, start: start, expires: start + deadline,
                          loopDeadline: context.eventLoop.now + TimeAmount(deadline))
    }

    /// The `/validate` targets this connection sent, read once each.
    private var targets = ValidateTargets()

    func channelReadComplete(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelReadComplete()
    }

    /// Arms the deadline of a request whose body is still to come, once.
    private func armDeadline(context: ChannelHandlerContext) {
        guard case .collecting(var request) = state, request.timer == nil else { return }
        state = .idle
        request.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: request.loopDeadline) { [self] in
            refuseCollecting(responder.bodyTimedOut(), context: context)
        }
        state = .collecting(request)
    }

    /// The request being collected, taken out of the state (now idle) with its timer cancelled.
    private func endCollecting() -> Collecting? {
        guard case .collecting(let request) = state else { return nil }
        state = .idle
        request.timer?.cancel()
        return request
    }

    /// Answers the request being collected with `reply` (its body will not be judged).
    private func refuseCollecting(_ reply: WebhookResponder.Reply, context: ChannelHandlerContext) {
        guard let request = endCollecting() else { return }
        send(reply, version: request.version, context: context)
        responder.reviewEnded(reserved: request.reserved)
    }

    private func judge(_ request: Collecting, context: ChannelHandlerContext) {
        let first = responder.firstHop(request.body ?? ByteBuffer(), start: request.start, judgingEverything: false)
        if case .judged(let judgement) = first {
            send(responder.reply(judgement), version: request.version, context: context)
            responder.reviewEnded(reserved: request.reserved)
            return
        }
        // A review whose cost depends on the cluster or on crypto: a worker judges it, within the
        // deadline, stopped when the caller hangs up. Nothing more is read until it is answered.
        state = .answering(version: request.version, reserved: request.reserved)
        responder.finish(first, start: request.start, expires: request.expires, context: context) { [self] reply, context in
            answered(reply, context: context)
        }
    }

    private func answered(_ reply: WebhookResponder.Reply, context: ChannelHandlerContext) {
        guard case .answering(let version, let reserved) = state else { return }
        state = .idle
        if !removed { send(reply, version: version, context: context) }
        responder.reviewEnded(reserved: reserved)
        guard !removed else { return }
        var drained = false
        while !isAnswering, let item = queued.popFirst() {
            switch item {
            case .part(let part): process(part, context: context)
            case .error(let error): handleError(error, context: context)
            case .event(let event): context.fireUserInboundEventTriggered(event)
            }
            drained = true
        }
        // Parts handed on outside a read: the next handlers (Hummingbird's stream) pass what they
        // got along at the end of a read, so that end is signalled here too, and a request begun
        // from them gets its deadline as one begun in a read does.
        if drained {
            armDeadline(context: context)
            context.fireChannelReadComplete()
        }
        if readHeld, !isAnswering {
            readHeld = false
            context.read()
        }
    }

    private var isAnswering: Bool {
        if case .answering = state { return true }
        return false
    }

    private func abandonCollecting() {
        guard let request = endCollecting() else { return }
        responder.reviewEnded(reserved: request.reserved)
    }

    private func send(_ reply: WebhookResponder.Reply, version: HTTPVersion, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(4)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        headers.add(name: "Date", value: date.now())
        if reply.closing { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status.code, reasonPhrase: reply.status.reasonPhrase)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        // `HTTP1Semantics` has seen the head: whether this answer ends the connection is decided
        // (the reply's own `close`, the request's `Connection: close` or HTTP/1.0, draining).
        if semantics.closeAfterAnswer { state = .closing }
        context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !enqueued(.error(error), context: context) { handleError(error, context: context) }
    }

    private func handleError(_ error: any Error, context: ChannelHandlerContext) {
        // A request of this handler's that the HTTP parser gave up on: it answers, as Hummingbird's
        // path answers an unreadable body, and the connection ends.
        guard case .collecting = state else {
            context.fireErrorCaught(error)
            return
        }
        refuseCollecting(responder.bodyUnreadable(closing: true), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonCollecting()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        abandonCollecting()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Hummingbird's answers: the end of one lets requests after it be answered here again,
        // unless that answer ends the connection (`HTTP1Semantics`, next, decided at its head).
        if case .end = unwrapOutboundIn(data), forwarded > 0 {
            forwarded -= 1
            if semantics.closeAfterAnswer { state = .closing }
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if isAnswering {
            readHeld = true
            return
        }
        context.read()
    }
}
