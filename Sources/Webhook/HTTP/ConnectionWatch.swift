import Logging
import NIOCore

/// Watches one connection from its first byte: registers it with the listener's `ConnectionSlots`
/// (busy or idle) and closes it when a request head does not arrive in time.
///
/// The header-read timeout runs from the moment the connection opens, or from the first byte after
/// an answered request, until the request head is complete. It is separate from, and much shorter
/// than, the keep-alive idle timeout, so a client sending a head slowly holds a slot for seconds,
/// not for the whole idle timeout. Installed first in the pipeline, so TLS bytes count as activity.
///
/// The keep-alive idle timeout runs from the end of the last answer until the next byte. It is kept
/// here, not by Hummingbird's channel, because `HTTP1Semantics` reports every request and answer,
/// including those `ValidateFastPath` serves without Hummingbird seeing them.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        /// Not yet active.
        case new
        /// Between requests, nothing received since the last answer.
        case idle
        /// Bytes of a request head are arriving (or the connection just opened).
        case awaitingHead
        /// The head is complete: the request is being read and answered.
        case busy
        case closed
    }

    private let slots: ConnectionSlots
    private let headerReadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private var phase = Phase.new
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(slots: ConnectionSlots, headerReadTimeout: TimeAmount, idleTimeout: TimeAmount, logger: Logger) {
        self.slots = slots
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { activate(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard phase == .new else { return }
        slots.opened(context.channel)
        phase = .awaitingHead
        armTimer(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase != .new && phase != .closed { slots.closed(context.channel) }
        phase = .closed
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .awaitingHead
            armTimer(context)
        }
        context.fireChannelRead(data)
    }

    /// Called by `HTTP1Semantics` when a request head has been parsed.
    func requestHeadReceived() {
        timer?.cancel()
        timer = nil
        guard phase != .closed, let context else { return }
        if phase != .busy { slots.setBusy(context.channel, true) }
        phase = .busy
    }

    /// Called by `HTTP1Semantics` when the last answer pending on the connection has been written.
    func responsesFinished() {
        guard phase == .busy, let context else { return }
        phase = .idle
        slots.setBusy(context.channel, false)
        armIdleTimer(context)
    }

    private func armIdleTimer(_ context: ChannelHandlerContext) {
        closeUnlessLeft(.idle, after: idleTimeout, context, "closing connection: idle longer than the idle timeout")
    }

    private func armTimer(_ context: ChannelHandlerContext) {
        closeUnlessLeft(.awaitingHead, after: headerReadTimeout, context,
                        "closing connection: request head not received within the header-read timeout")
    }

    /// Closes the connection when it is still in `phase` after `delay` (the one timer of the connection).
    private func closeUnlessLeft(_ phase: Phase, after delay: TimeAmount, _ context: ChannelHandlerContext, _ reason: Logger.Message) {
        timer?.cancel()
        let channel = context.channel
        let logger = self.logger
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            guard self.phase == phase else { return }
            logger.debug(reason)
            channel.close(promise: nil)
        }
    }
}
