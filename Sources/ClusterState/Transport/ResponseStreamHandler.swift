import NIOCore
import NIOHTTP1

/// The last handler of an API connection: sends the one request when the channel becomes active
/// (the TLS handler buffers it until the handshake is done), completes `head` with the response
/// head and hands the body, as it arrives, to an `AsyncThrowingStream`. Whatever ends the
/// connection first (response end, error, read timeout, close) settles both exactly once.
final class ResponseStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let requestBody: ByteBuffer?
    private let head: EventLoopPromise<HTTPResponseHead>
    private let body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    private var receivedHead = false
    private var finished = false

    init(request: HTTPRequestHead, requestBody: ByteBuffer? = nil, head: EventLoopPromise<HTTPResponseHead>,
         body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation) {
        self.request = request
        self.requestBody = requestBody
        self.head = head
        self.body = body
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        if let requestBody { context.write(wrapOutboundOut(.body(.byteBuffer(requestBody))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .head(let received):
            receivedHead = true
            head.succeed(received)
        case .body(let bytes):
            body.yield(bytes)
        case .end:
            finish(nil)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Before the head it is the handshake (wrong CA, name mismatch) or the request: keep the reason.
        finish(receivedHead ? APIClientError.connectionClosed : APIClientError.connectFailed("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(APIClientError.connectionClosed)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(APIClientError.connectionClosed)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            finish(APIClientError.readTimeout)
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// `nil`: the response ended cleanly.
    private func finish(_ error: (any Error)?) {
        guard !finished else { return }
        finished = true
        if !receivedHead { head.fail(error ?? APIClientError.connectionClosed) }
        if let error { body.finish(throwing: error) } else { body.finish() }
    }
}
