// TLS for NIO channels on the system OpenSSL, one `SSL` per channel between two memory BIOs.
//
// Server use (e.g. in a Hummingbird `ServerChildChannel.setup(channel:)`), before the HTTP
// handlers, with a context built once or taken from a reloading provider:
//
//     let provider = try TLSContextProvider(configuration: serverConfig, logger: logger)
//     provider.startWatching(on: group.next(), every: .seconds(10))
//     // per accepted channel, on its event loop:
//     try channel.pipeline.syncOperations.addHandler(OpenSSLServerHandler(context: provider.currentContext))
//
// The handler fires `TLSHandshakeCompleted` (a user inbound event) once the handshake is done;
// its `peerSubject` / `peerCommonName` are the verified client certificate's. The same values
// are readable later from `OpenSSLHandler.handshakeResult` (e.g. via
// `channel.pipeline.syncOperations.handler(type: OpenSSLServerHandler.self)`).
// Failed server handshakes are reported to `TLSServerConfiguration.onHandshakeFailure` and
// fired down the pipeline as `OpenSSLTLSError` before the channel is closed.
//
// Client use: `OpenSSLClientHandler(context: clientContext, serverHostname: "kubernetes.default.svc")`
// (an IP literal is verified against IP SANs and not sent as SNI).

import COpenSSLShims
import NIOCore

/// A `ChannelDuplexHandler` that speaks TLS through OpenSSL: ciphertext `ByteBuffer`s in and out
/// on the network side, plaintext `ByteBuffer`s on the application side. Use one of the role
/// subclasses, `OpenSSLServerHandler` or `OpenSSLClientHandler`.
///
/// Behaviour the layers around it can rely on:
/// - writes before the handshake completes are buffered (up to the context's cap) and sent
///   after it; nothing is sent before `flush`, and `close` sends pending writes, then
///   close_notify, then waits (bounded) for the peer's close_notify;
/// - `close(mode: .output)` sends close_notify and half-closes the socket, reads continue;
/// - a peer close_notify closes the channel, unless the channel allows remote half-closure, in
///   which case `ChannelEvent.inputClosed` is fired and writes may continue;
/// - the end of the stream without close_notify fires `OpenSSLTLSError.uncleanShutdown`;
/// - any TLS failure fires an `OpenSSLTLSError` and closes the channel.
public class OpenSSLHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Where the connection is in its life. Only `transition(to:context:)` assigns it.
    enum State: Equatable {
        /// Added to a pipeline whose channel is not active yet.
        case idle
        case handshaking
        case active
        /// The peer's close_notify arrived and half-closure is allowed: we may still write.
        case inputClosed
        /// We sent close_notify via `close(mode: .output)`: we may still read.
        case outputClosed
        /// We sent close_notify for a full close and wait for the peer's (bounded).
        case closing
        case closed
    }

    private struct PendingWrite {
        var data: ByteBuffer
        var promise: EventLoopPromise<Void>?
    }

    private let connection: SSLConnection
    private(set) var state: State = .idle
    private var pendingWrites = CircularBuffer<PendingWrite>()
    /// How many of `pendingWrites` (from the front) have been flushed by the application.
    private var flushedWriteCount = 0
    private var bufferedPlaintextBytes = 0
    private var handshakeTimer: Scheduled<Void>?
    private var shutdownTimer: Scheduled<Void>?
    private var closePromise: EventLoopPromise<Void>?
    private var receivedAnyBytes = false
    private var deliveredPlaintextThisRead = false
    private var applicationWantsRead = false

    /// What the handshake negotiated, including the peer certificate's subject; `nil` before.
    public private(set) var handshakeResult: TLSHandshakeCompleted?

    /// The verified peer certificate's RFC 2253 subject, once the handshake has completed.
    public var peerSubject: String? { handshakeResult?.peerSubject }

    /// The verified peer certificate's common name, once the handshake has completed.
    public var peerCommonName: String? { handshakeResult?.peerCommonName }

    init(sslContext: OpenSSLContext, serverHostname: String?) throws {
        self.connection = try SSLConnection(context: sslContext, serverHostname: serverHostname)
    }

    // MARK: State transitions

    /// The single place the state changes, with what entering or leaving a state implies.
    private func transition(to next: State, context: ChannelHandlerContext, failingWritesWith error: (any Error)? = nil) {
        let legal: Bool
        switch (state, next) {
        case (.idle, .handshaking), (.idle, .closed),
             (.handshaking, .active), (.handshaking, .closed),
             (.active, .inputClosed), (.active, .outputClosed), (.active, .closing), (.active, .closed),
             (.inputClosed, .closed), (.outputClosed, .closed), (.closing, .closed):
            legal = true
        default:
            legal = false
        }
        guard legal else {
            assertionFailure("illegal TLS state transition \(state) -> \(next)")
            return
        }
        if state == .handshaking {
            handshakeTimer?.cancel()
            handshakeTimer = nil
        }
        state = next
        switch next {
        case .handshaking:
            let timeout = connection.context.handshakeTimeout
            handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                guard state == .handshaking else { return }
                fail(.handshakeTimeout(timeout), context: context)
            }
        case .closing:
            shutdownTimer = context.eventLoop.assumeIsolated().scheduleTask(in: connection.context.shutdownTimeout) { [self] in
                guard state == .closing else { return }
                let promise = closePromise
                closePromise = nil
                transition(to: .closed, context: context)
                context.close(promise: promise)
            }
        case .closed:
            shutdownTimer?.cancel()
            shutdownTimer = nil
            let failure = error ?? ChannelError.ioOnClosedChannel
            while let write = pendingWrites.popFirst() {
                write.promise?.fail(failure)
            }
            flushedWriteCount = 0
            bufferedPlaintextBytes = 0
        case .idle, .active, .inputClosed, .outputClosed:
            break
        }
    }

    // MARK: Lifecycle

    public final func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    public final func handlerRemoved(context: ChannelHandlerContext) {
        // Removed mid-session (pipeline torn down): no TLS can follow, complete every promise.
        let promise = closePromise
        closePromise = nil
        if state != .closed { transition(to: .closed, context: context) }
        promise?.succeed()
    }

    public final func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    public final func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            let error = OpenSSLTLSError.uncleanShutdown
            transition(to: .closed, context: context, failingWritesWith: error)
            if receivedAnyBytes { reportHandshakeFailure(error) }
            context.fireErrorCaught(error)
        case .active, .outputClosed:
            let error = OpenSSLTLSError.uncleanShutdown
            transition(to: .closed, context: context, failingWritesWith: error)
            context.fireErrorCaught(error)
        case .closing:
            // We asked to close; the peer dropping the socket instead of answering is fine.
            let promise = closePromise
            closePromise = nil
            transition(to: .closed, context: context)
            promise?.succeed()
        case .inputClosed:
            transition(to: .closed, context: context)
        case .closed:
            break
        }
        context.fireChannelInactive()
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        transition(to: .handshaking, context: context)
        advanceHandshake(context: context)
    }

    // MARK: Inbound

    public final func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        switch state {
        case .closed, .inputClosed:
            return  // nothing after close_notify or after we gave up counts
        case .idle:
            receivedAnyBytes = true
            connection.receive(ciphertext)
            startHandshake(context: context)
        case .handshaking:
            receivedAnyBytes = true
            connection.receive(ciphertext)
            advanceHandshake(context: context)
        case .active, .outputClosed, .closing:
            connection.receive(ciphertext)
            decrypt(context: context)
        }
    }

    public final func channelReadComplete(context: ChannelHandlerContext) {
        let delivered = deliveredPlaintextThisRead
        deliveredPlaintextThisRead = false
        context.fireChannelReadComplete()
        // The application asked for data and got none (only handshake or control records):
        // ask the channel again so a channel without autoRead does not stall.
        if !delivered, applicationWantsRead, state != .closed {
            context.read()
        }
    }

    public final func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The socket's read side ended (FIN) with remote half-closure allowed.
        switch state {
        case .inputClosed, .closed:
            break  // already reported after close_notify
        case .closing:
            let promise = closePromise
            closePromise = nil
            transition(to: .closed, context: context)
            context.close(promise: promise)
        case .idle, .handshaking, .active, .outputClosed:
            fail(.uncleanShutdown, context: context)
        }
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        switch connection.doHandshake() {
        case .wantMore:
            sendCiphertext(context: context, promise: nil)
        case .failed(let error):
            fail(error, context: context)
        case .complete:
            let summary = connection.handshakeSummary()
            handshakeResult = summary
            transition(to: .active, context: context)
            sendCiphertext(context: context, promise: nil)
            context.fireUserInboundEventTriggered(summary)
            guard state == .active else { return }
            encryptPendingWrites(context: context, includeUnflushed: false)
            // TLS 1.3 application data may have arrived in the same read as the Finished.
            guard state == .active else { return }
            decrypt(context: context)
        }
    }

    private func decrypt(context: ChannelHandlerContext) {
        var plaintext = context.channel.allocator.buffer(capacity: 16_384)
        var outcome = SSLConnection.ReadOutcome.wantMore
        readLoop: while true {
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: 4_096) { bytes in
                outcome = connection.read(into: bytes)
                if case .bytes(let count) = outcome { return count }
                return 0
            }
            if case .bytes = outcome { continue readLoop }
            break readLoop
        }
        // Post-handshake messages (key updates, tickets, alerts) may need an answer.
        sendCiphertext(context: context, promise: nil)
        // Data that arrived before close_notify or an error goes up first.
        if plaintext.readableBytes > 0 {
            deliveredPlaintextThisRead = true
            applicationWantsRead = false
            context.fireChannelRead(wrapInboundOut(plaintext))
        }
        switch outcome {
        case .closeNotify:
            receivedCloseNotify(context: context)
        case .failed(let error):
            fail(error, context: context)
        case .bytes, .wantMore:
            break
        }
    }

    private func receivedCloseNotify(context: ChannelHandlerContext) {
        switch state {
        case .active:
            if allowsRemoteHalfClosure(context: context) {
                transition(to: .inputClosed, context: context)
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            } else {
                encryptPendingWrites(context: context, includeUnflushed: false)
                connection.shutdown()
                sendCiphertext(context: context, promise: nil)
                transition(to: .closed, context: context)
                context.close(promise: nil)
            }
        case .outputClosed:
            transition(to: .closed, context: context)
            context.close(promise: nil)
        case .closing:
            let promise = closePromise
            closePromise = nil
            transition(to: .closed, context: context)
            context.close(promise: promise)
        case .idle, .handshaking, .inputClosed, .closed:
            break
        }
    }

    private func allowsRemoteHalfClosure(context: ChannelHandlerContext) -> Bool {
        guard let options = context.channel.syncOptions else { return false }
        return (try? options.getOption(ChannelOptions.allowRemoteHalfClosure)) ?? false
    }

    // MARK: Outbound

    public final func read(context: ChannelHandlerContext) {
        applicationWantsRead = true
        context.read()
    }

    public final func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        switch state {
        case .closing, .closed, .outputClosed:
            promise?.fail(ChannelError.outputClosed)
            return
        case .idle, .handshaking:
            let limit = connection.context.maximumBufferedPlaintextBytes
            guard bufferedPlaintextBytes + plaintext.readableBytes <= limit else {
                promise?.fail(OpenSSLTLSError.bufferLimitExceeded(limit: limit))
                return
            }
        case .active, .inputClosed:
            break
        }
        bufferedPlaintextBytes += plaintext.readableBytes
        pendingWrites.append(PendingWrite(data: plaintext, promise: promise))
    }

    public final func flush(context: ChannelHandlerContext) {
        flushedWriteCount = pendingWrites.count
        switch state {
        case .active, .inputClosed:
            encryptPendingWrites(context: context, includeUnflushed: false)
        case .idle, .handshaking, .outputClosed, .closing, .closed:
            break
        }
    }

    public final func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch (mode, state) {
        case (.input, _):
            context.close(mode: .input, promise: promise)
        case (_, .closed):
            context.close(mode: mode, promise: promise)
        case (_, .idle), (_, .handshaking):
            // No session to shut down cleanly; nothing buffered can be sent.
            transition(to: .closed, context: context)
            context.close(mode: .all, promise: promise)
        case (.output, .active):
            sendCloseNotify(context: context)
            guard state == .active else { promise?.fail(ChannelError.ioOnClosedChannel); return }
            transition(to: .outputClosed, context: context)
            context.close(mode: .output, promise: promise)
        case (.output, .outputClosed):
            promise?.succeed()
        case (.all, .active):
            sendCloseNotify(context: context)
            guard state == .active else { promise?.fail(ChannelError.ioOnClosedChannel); return }
            closePromise = promise
            transition(to: .closing, context: context)
        case (_, .closing):
            if let promise {
                if let closePromise { closePromise.futureResult.cascade(to: promise) } else { closePromise = promise }
            }
        case (_, .inputClosed):
            // The peer already said goodbye: reply and close without waiting.
            sendCloseNotify(context: context)
            if state == .inputClosed { transition(to: .closed, context: context) }
            context.close(mode: .all, promise: promise)
        case (.all, .outputClosed):
            transition(to: .closed, context: context)
            context.close(mode: .all, promise: promise)
        }
    }

    /// Sends everything written so far (flushed or not: closing implies it), then close_notify.
    private func sendCloseNotify(context: ChannelHandlerContext) {
        flushedWriteCount = pendingWrites.count
        encryptPendingWrites(context: context, includeUnflushed: true)
        guard state != .closed else { return }
        connection.shutdown()
        sendCiphertext(context: context, promise: nil)
    }

    private func encryptPendingWrites(context: ChannelHandlerContext, includeUnflushed: Bool) {
        let count = includeUnflushed ? pendingWrites.count : flushedWriteCount
        guard count > 0 else { return }
        // One ciphertext write carries all of them; its promise completes every caller's.
        var combined: EventLoopPromise<Void>?
        // Small writes flushed together (an HTTP answer's head and body) are sealed as one TLS
        // record: a record per write cost a cipher pass and 22 bytes each, and nginx, the
        // reference, sends its answer in one.
        var gathered: ByteBuffer?
        if count > 1 {
            var total = 0
            for index in pendingWrites.indices.prefix(count) { total += pendingWrites[index].data.readableBytes }
            if total <= Self.coalescedRecordLimit { gathered = context.channel.allocator.buffer(capacity: total) }
        }
        for _ in 0..<count {
            guard let write = pendingWrites.popFirst() else { break }
            flushedWriteCount -= 1
            bufferedPlaintextBytes -= write.data.readableBytes
            if let promise = write.promise {
                if let combined { combined.futureResult.cascade(to: promise) } else { combined = promise }
            }
            if gathered != nil {
                gathered?.writeImmutableBuffer(write.data)
            } else if let error = connection.write(write.data) {
                combined?.fail(error)  // this write's promise and every earlier one
                fail(error, context: context)
                return
            }
        }
        flushedWriteCount = max(0, flushedWriteCount)
        if let gathered, let error = connection.write(gathered) {
            combined?.fail(error)
            fail(error, context: context)
            return
        }
        sendCiphertext(context: context, promise: combined)
    }

    /// The most plaintext gathered into one record: TLS's own record limit.
    static let coalescedRecordLimit = 16 * 1024

    /// Moves whatever OpenSSL produced to the network and flushes it.
    private func sendCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let pending = connection.pendingOutputBytes
        guard pending > 0 else {
            promise?.succeed()
            return
        }
        var ciphertext = context.channel.allocator.buffer(capacity: pending)
        ciphertext.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            connection.drainOutput(into: bytes)
        }
        context.writeAndFlush(wrapOutboundOut(ciphertext), promise: promise)
    }

    // MARK: Failure

    /// Sends any alert OpenSSL queued, reports the error and closes the channel.
    private func fail(_ error: OpenSSLTLSError, context: ChannelHandlerContext) {
        guard state != .closed else { return }
        let duringHandshake = state == .handshaking || state == .idle
        sendCiphertext(context: context, promise: nil)
        let promise = closePromise
        closePromise = nil
        transition(to: .closed, context: context, failingWritesWith: error)
        promise?.fail(error)
        if duringHandshake { reportHandshakeFailure(error) }
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func reportHandshakeFailure(_ error: OpenSSLTLSError) {
        connection.context.onHandshakeFailure?(error)
    }
}

@available(*, unavailable)
extension OpenSSLHandler: Sendable {}

/// The server role of `OpenSSLHandler`: add one per accepted channel, before the HTTP handlers.
public final class OpenSSLServerHandler: OpenSSLHandler {
    /// A server handler on `context`, which must have been built from a `TLSServerConfiguration`.
    /// - Throws: `OpenSSLTLSError.invalidConfiguration` for a client context or if OpenSSL
    ///   cannot allocate the connection.
    public init(context: OpenSSLContext) throws {
        guard context.role == .server else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "OpenSSLServerHandler needs a server context")
        }
        try super.init(sslContext: context, serverHostname: nil)
    }

    /// A server handler on the provider's current context (the one in force at channel set-up:
    /// later reloads never touch this connection).
    public convenience init(provider: TLSContextProvider) throws {
        try self.init(context: provider.currentContext)
    }
}

/// The client role of `OpenSSLHandler`.
public final class OpenSSLClientHandler: OpenSSLHandler {
    /// A client handler verifying the server as `serverHostname`: a DNS name is sent as SNI and
    /// checked with `SSL_set1_host`; an IP literal is checked against IP SANs, without SNI.
    /// `nil` checks only the chain (use it only when the name truly cannot be known).
    /// - Throws: `OpenSSLTLSError.invalidConfiguration` for a server context or a bad name.
    public init(context: OpenSSLContext, serverHostname: String?) throws {
        guard context.role == .client else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "OpenSSLClientHandler needs a client context")
        }
        try super.init(sslContext: context, serverHostname: serverHostname)
    }
}
