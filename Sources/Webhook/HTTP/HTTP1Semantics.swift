import HTTPTypes
import NIOCore
import NIOHTTP1

/// The HTTP/1 rules Hummingbird's channel leaves to the application, applied between NIO's HTTP/1
/// codec and Hummingbird's:
///
/// - `Expect: 100-continue` is answered `100 Continue` (unless the announced body is too large, which
///   the responder refuses), so clients do not wait before sending the body.
/// - Every answer carries the request's HTTP version; a request that does not keep the connection
///   alive (`Connection: close`, or HTTP/1.0 without `keep-alive`) gets `Connection: close` back and
///   the connection closes after the answer; HTTP/1.0 keep-alive is echoed.
/// - An answer marked `Connection: close` (by the responder, or because the server is draining)
///   closes the connection once written.
/// - A request the HTTP parser rejects is answered 400 with the JSON `Status` body every other error
///   carries, then the connection closes.
/// - Draining (shutdown requested): every answer carries `Connection: close`. On quiesce, a connection
///   answering a request closes after its answer; an idle one closes once it has been quiet for
///   `QuiesceGrace.period`, so a request already on its way is still answered.
final class HTTP1Semantics: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private struct Pending {
        let version: HTTPVersion
        let keepAlive: Bool
        /// `100 Continue` is due once the answers before this request's have left.
        var continueOwed = false
    }

    private let maximumBodySize: Int
    private let isDraining: @Sendable () -> Bool
    private let watch: ConnectionWatch?
    /// Requests whose answer is not complete yet, oldest first.
    private var pending: [Pending] = []
    /// The answer being written ends the connection (decided when its head passed).
    private var closeAfterAnswer = false
    private let grace = QuiesceGrace()

    init(maximumBodySize: Int, watch: ConnectionWatch?, isDraining: @escaping @Sendable () -> Bool) {
        self.maximumBodySize = maximumBodySize
        self.watch = watch
        self.isDraining = isDraining
    }

    func handlerAdded(context: ChannelHandlerContext) {
        grace.active(at: context.eventLoop.now)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        grace.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        grace.active(at: context.eventLoop.now)
        if case .head(let head) = unwrapInboundIn(data) {
            let continues = head.version != .http1_0 && Self.expectsContinue(head) && !announcesTooLarge(head)
            pending.append(Pending(version: head.version, keepAlive: head.isKeepAlive, continueOwed: continues))
            watch?.requestHeadReceived()
            // Behind a pipelined request still unanswered, the interim answer waits for that
            // answer: it would otherwise be read as the earlier request's (RFC 9112 section 9.3.2).
            if continues, pending.count == 1 { sendContinue(context: context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            let request = pending.first ?? Pending(version: .http1_1, keepAlive: true)
            head.version = request.version
            let answerCloses = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            closeAfterAnswer = answerCloses || !request.keepAlive || isDraining() || grace.quiesced
            if closeAfterAnswer {
                head.headers.replaceOrAdd(name: "connection", value: "close")
            } else if request.version == .http1_0 {
                head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .head, .body:
            context.write(data, promise: promise)
        case .end:
            if !pending.isEmpty { pending.removeFirst() }
            grace.active(at: context.eventLoop.now)
            guard closeAfterAnswer else {
                if pending.isEmpty { watch?.responsesFinished() }
                context.write(data, promise: promise)
                if pending.first?.continueOwed == true { sendContinue(context: context) }
                return
            }
            let channel = context.channel
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Between requests (including a head that never parsed) the 400 is this handler's to write; in
        // the middle of a request Hummingbird's channel owns the answer and gets the error.
        guard error is HTTPParserError, pending.isEmpty else {
            context.fireErrorCaught(error)
            return
        }
        var headers = HTTPHeaders()
        let body = WebhookResponder.statusBody(.badRequest, "malformed HTTP request: \(error)")
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Hummingbird's own handling closes idle connections at once; a request already sent on one
        // would then get no answer. Handled here instead, so the event goes no further.
        grace.quiesce(context: context) { [unowned self] in pending.isEmpty }
    }

    /// `100 Continue` for the oldest request still to be answered, which asked for it.
    private func sendContinue(context: ChannelHandlerContext) {
        guard let first = pending.first, first.continueOwed else { return }
        pending[0].continueOwed = false
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: first.version, status: .continue))), promise: nil)
    }

    private static func expectsContinue(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
    }

    private func announcesTooLarge(_ head: HTTPRequestHead) -> Bool {
        head.headers.first(name: "content-length").flatMap(Int.init).map { $0 > maximumBodySize } ?? false
    }
}
