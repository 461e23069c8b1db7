// Minimal HTTPS responder for bench/tls/run.sh: OpenSSLServerHandler + NIOHTTP1 on one event
// loop thread, a fixed body, keep-alive unless the client asks to close.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OpenSSLTLS

let arguments = CommandLine.arguments
guard arguments.count == 5, let port = Int(arguments[3]), let bodySize = Int(arguments[4]) else {
    print("usage: TLSBenchResponder CERT KEY PORT BODY_BYTES")
    exit(2)
}

final class Responder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let body: ByteBuffer
    private var keepAlive = true

    init(body: ByteBuffer) { self.body = body }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            var headers = HTTPHeaders([("Content-Length", "\(body.readableBytes)"), ("Content-Type", "text/plain")])
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in loopBound.value.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

let tlsContext = try OpenSSLContext(configuration: TLSServerConfiguration(certificateChainFile: arguments[1], privateKeyFile: arguments[2]))
let body = ByteBuffer(string: String(repeating: "x", count: bodySize))
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(.backlog, value: 1024)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(OpenSSLServerHandler(context: tlsContext))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(Responder(body: body))
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()
print("listening on \(server.localAddress?.port ?? 0)")
try server.closeFuture.wait()
