import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 channel with the webhook's connection policy added: `ConnectionWatch` first
/// in the pipeline (slots, header-read and keep-alive idle timeouts), `HTTP1Semantics` between NIO's HTTP/1 codec and
/// Hummingbird's, and on the webhook port `ValidateWire` ahead of NIO's codec (the API server's
/// reviews, read from the bytes; a connection it hands on is served by Hummingbird, reviews
/// included). Both listeners use it, so the metrics and probe port is protected the same way.
public struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let slots: ConnectionSlots
    let headerReadTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let maximumBodySize: Int
    let isDraining: @Sendable () -> Bool
    /// The webhook's reviews are read by `ValidateWire` on the channel (nil on the metrics port).
    let reviews: WebhookResponder?

    /// Hummingbird's channel for `responder` is built here without an idle timeout of its own: it
    /// would not see the requests `ValidateWire` serves, and would close busy connections.
    /// `idleTimeout` is kept by `ConnectionWatch`, which sees every request and answer.
    public init(responder: @escaping HTTPChannelHandler.Responder, slots: ConnectionSlots, headerReadTimeout: TimeAmount,
                idleTimeout: TimeAmount, maximumBodySize: Int, reviews: WebhookResponder? = nil,
                isDraining: @escaping @Sendable () -> Bool) {
        self.base = HTTP1Channel(responder: responder)
        self.slots = slots
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.maximumBodySize = maximumBodySize
        self.reviews = reviews
        self.isDraining = isDraining
    }

    public var responder: HTTPChannelHandler.Responder { base.responder }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let watch = ConnectionWatch(slots: slots, headerReadTimeout: headerReadTimeout, idleTimeout: idleTimeout, logger: logger)
            try operations.addHandler(watch, position: .first)
            let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
            let semantics = HTTP1Semantics(maximumBodySize: maximumBodySize, watch: watch, isDraining: isDraining)
            try operations.addHandler(semantics, position: .before(codec))
            if let reviews {
                // Right after TLS (`ConnectionWatch` is ahead of it), ahead of NIO's HTTP/1 encoder and
                // decoder: it reads the decrypted bytes and writes its answers as bytes.
                let encoder = try operations.handler(type: HTTPResponseEncoder.self)
                try operations.addHandler(ValidateWire(responder: reviews, watch: watch, isDraining: isDraining), position: .before(encoder))
            }
            return value
        }
    }

    /// The connection's task runs on its own event loop (`EventLoopTaskExecutor`), not on the
    /// global pool: reading a request and writing its answer then take no thread switches.
    public func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}
