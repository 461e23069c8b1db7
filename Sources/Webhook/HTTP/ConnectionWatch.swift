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
/// here, not by Hummingbird's channel, because `ValidateWire` answers most requests without
/// Hummingbird seeing them and reports its own; `HTTP1Semantics` reports those of a connection
/// handed on.
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
    /// When the current phase ends the connection: set on entering `awaitingHead` or `idle`,
    /// cleared when a head arrives.
    private var deadline: (at: NIODeadline, reason: Logger.Message)?
    /// The connection's one timer and when it fires. It is not moved for every request: it fires
    /// at the earliest deadline it was set for, and then closes the connection, re-arms itself
    /// for the current (later) deadline, or stops when there is none. On a keep-alive connection
    /// a timer per request (scheduled at each answer and each next head, cancelled at each head)
    /// cost as much as the HTTP head parsing.
    private var timer: (task: Scheduled<Void>, firesAt: NIODeadline)?
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
        stopTimer()
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
        awaitHead(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase != .new && phase != .closed { slots.closed(context.channel) }
        phase = .closed
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .awaitingHead
            awaitHead(context)
        }
        context.fireChannelRead(data)
    }

    /// Called by `HTTP1Semantics` when a request head has been parsed.
    func requestHeadReceived() {
        deadline = nil
        guard phase != .closed, let context else { return }
        if phase != .busy { slots.setBusy(context.channel, true) }
        phase = .busy
    }

    /// Called by `HTTP1Semantics` when the last answer pending on the connection has been written.
    func responsesFinished() {
        guard phase == .busy, let context else { return }
        phase = .idle
        slots.setBusy(context.channel, false)
        setDeadline(after: idleTimeout, "closing connection: idle longer than the idle timeout", context)
    }

    private func awaitHead(_ context: ChannelHandlerContext) {
        setDeadline(after: headerReadTimeout, "closing connection: request head not received within the header-read timeout", context)
    }

    private func setDeadline(after delay: TimeAmount, _ reason: Logger.Message, _ context: ChannelHandlerContext) {
        let at = context.eventLoop.now + delay
        deadline = (at, reason)
        // A timer firing no later than this deadline will see it; only an earlier deadline moves it.
        if let timer, timer.firesAt <= at { return }
        startTimer(at: at, context)
    }

    private func startTimer(at firesAt: NIODeadline, _ context: ChannelHandlerContext) {
        timer?.task.cancel()
        let channel = context.channel
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: firesAt) { [self] in
            timer = nil
            guard let deadline, phase != .closed else { return }
            if deadline.at <= context.eventLoop.now {
                logger.debug(deadline.reason)
                channel.close(promise: nil)
            } else {
                startTimer(at: deadline.at, context)
            }
        }
        timer = (task, firesAt)
    }

    private func stopTimer() {
        timer?.task.cancel()
        timer = nil
        deadline = nil
    }
}
