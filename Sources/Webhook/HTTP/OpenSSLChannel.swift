import HummingbirdCore
import Logging
import NIOCore
import OpenSSLTLS

/// A Hummingbird `ServerChildChannel` that terminates TLS with the system OpenSSL before handing
/// the connection to the HTTP channel it wraps: the OpenSSL counterpart of HummingbirdTLS's
/// `TLSChannel`.
///
/// Each connection takes the provider's context current at accept time, so a certificate reload
/// reaches new connections while open ones keep theirs.
public struct OpenSSLChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    public typealias Value = BaseChannel.Value

    let baseChannel: BaseChannel
    let provider: TLSContextProvider
    /// When set, a client certificate whose CN is not in the set is refused (`--client-cn`).
    let allowedClientCommonNames: Set<String>?

    public init(_ baseChannel: BaseChannel, provider: TLSContextProvider, allowedClientCommonNames: Set<String>? = nil) {
        self.baseChannel = baseChannel
        self.provider = provider
        self.allowedClientCommonNames = allowedClientCommonNames
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(OpenSSLServerHandler(provider: provider))
            if let allowedClientCommonNames {
                try operations.addHandler(ClientNameCheck(allowed: allowedClientCommonNames, logger: logger))
            }
        }.flatMap {
            baseChannel.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: BaseChannel.Value, logger: Logger) async {
        await baseChannel.handle(value: value, logger: logger)
    }
}

extension OpenSSLChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { baseChannel.responder }
}

/// Holds back every byte of a connection until the verified client certificate's CN is one of
/// the allowed names, and closes the connection otherwise: only the API server may call.
final class ClientNameCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let allowed: Set<String>
    private let logger: Logger
    private var verified = false

    init(allowed: Set<String>, logger: Logger) {
        self.allowed = allowed
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            if let name = handshake.peerCommonName, allowed.contains(name) {
                verified = true
            } else {
                logger.warning("client certificate refused: common name not allowed", metadata: [
                    "peerSubject": .string(handshake.peerSubject ?? "<none>"),
                ])
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard verified else { return }
        context.fireChannelRead(data)
    }
}
