import Foundation
import KubeModel
import NIOCore
import NIOHTTP1
import NIOPosix
import OpenSSLTLS

/// HTTP/1.1 to the Kubernetes API server over the project's OpenSSL client role: one connection
/// per request (a LIST page, a GET, a WATCH stream), verified against the configured CA by the
/// server's name, or by IP SAN (without SNI) when it is addressed by IP.
///
/// A 401 makes the bearer token be re-read from its file and the request be sent once more.
public final class APIClient: Sendable {
    /// Timeouts of the transport; injectable so tests run in seconds.
    public struct Timeouts: Sendable {
        public var connect: TimeAmount = .seconds(10)
        /// Longest silence while reading a non-watch response.
        public var read: TimeAmount = .seconds(30)
        public init() {}
    }

    /// A complete response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    /// The head of a streaming response and the body as it arrives.
    struct Stream: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: AsyncThrowingStream<ByteBuffer, any Error>
        var cancel: @Sendable () -> Void
    }

    public let configuration: KubeConfiguration
    let timeouts: Timeouts
    let token: BearerToken
    private let tlsContext: OpenSSLContext?
    private let group: any EventLoopGroup

    /// Builds the TLS context once; the client key bytes are not kept afterwards.
    public init(configuration: KubeConfiguration, token: BearerToken, timeouts: Timeouts = Timeouts(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        var kept = configuration
        kept.clientKeyPEM = nil
        kept.clientCertificatePEM = nil
        self.configuration = kept
        self.token = token
        self.timeouts = timeouts
        self.group = group
        if configuration.scheme == "https" {
            var tls = TLSClientConfiguration()
            tls.trustedCAPEM = configuration.certificateAuthorityPEM
            tls.verifiesPeer = !configuration.insecureSkipTLSVerify
            tls.certificateChainPEM = configuration.clientCertificatePEM
            tls.privateKeyPEM = configuration.clientKeyPEM
            tls.handshakeTimeout = timeouts.connect
            tlsContext = try OpenSSLContext(configuration: tls)
        } else {
            tlsContext = nil
        }
    }

    /// GET `path` and read the whole body, up to `limit` bytes.
    public func get(_ path: String, query: [(String, String)] = [], limit: Int = 256 << 20) async throws -> Response {
        try await collect(open(path, query: query, readTimeout: timeouts.read), limit: limit)
    }

    /// Sends GET `path` and returns once the response head has arrived; the body streams.
    /// A 401 re-reads the token and retries once.
    func open(_ path: String, query: [(String, String)], readTimeout: TimeAmount,
              method: HTTPMethod = .GET, body: ByteBuffer? = nil) async throws -> Stream {
        let first = try await openOnce(path, query: query, readTimeout: readTimeout, method: method, body: body)
        guard first.status == 401, token.invalidate() else { return first }
        first.cancel()
        return try await openOnce(path, query: query, readTimeout: readTimeout, method: method, body: body)
    }

    /// Sends `method` to `path` with `json` as the body (POST, PUT; `nil` for DELETE) and reads the
    /// whole response, up to `limit` bytes. A 401 re-reads the token and retries once.
    public func send(_ method: HTTPMethod, _ path: String, json: Data?, limit: Int = 16 << 20) async throws -> Response {
        try await collect(open(path, query: [], readTimeout: timeouts.read, method: method,
                               body: json.map { ByteBuffer(bytes: $0) }), limit: limit)
    }

    /// Reads `stream`'s whole body, up to `limit` bytes, and closes it.
    private func collect(_ stream: Stream, limit: Int) async throws -> Response {
        defer { stream.cancel() }
        var body = ByteBuffer()
        for try await var chunk in stream.body {
            guard body.readableBytes + chunk.readableBytes <= limit else { throw APIClientError.responseTooLarge(limit) }
            body.writeBuffer(&chunk)
        }
        return Response(status: stream.status, headers: stream.headers, body: body)
    }

    private func openOnce(_ path: String, query: [(String, String)], readTimeout: TimeAmount,
                          method: HTTPMethod, body requestBody: ByteBuffer?) async throws -> Stream {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: Self.uri(configuration.pathPrefix + path, query: query))
        if let requestBody {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(requestBody.readableBytes))
        }
        let hostHeader = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        head.headers.add(name: "Host", value: configuration.port == 443 ? hostHeader : "\(hostHeader):\(configuration.port)")
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "User-Agent", value: "mtls-guard")
        if let bearer = token.current() { head.headers.add(name: "Authorization", value: "Bearer \(bearer)") }

        let (body, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let tlsContext = self.tlsContext
        let verifyName = configuration.insecureSkipTLSVerify ? nil : configuration.verifiedServerName
        let request = head
        let eventLoop = group.next()
        let headPromise = eventLoop.makePromise(of: HTTPResponseHead.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeouts.connect)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    // First in the pipeline: any byte, even a TLS record with no HTTP in it, counts as life.
                    try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    if let tlsContext {
                        try pipeline.addHandler(OpenSSLClientHandler(context: tlsContext, serverHostname: verifyName))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(ResponseStreamHandler(request: request, requestBody: requestBody, head: headPromise, body: continuation))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            headPromise.fail(error)
            continuation.finish(throwing: error)
            throw APIClientError.connectFailed("\(error)")
        }
        continuation.onTermination = { _ in channel.close(promise: nil) }
        let cancel: @Sendable () -> Void = { channel.close(promise: nil) }
        let responseHead: HTTPResponseHead
        do {
            responseHead = try await withTaskCancellationHandler {
                try await headPromise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            cancel()
            throw error
        }
        return Stream(status: Int(responseHead.status.code), headers: responseHead.headers, body: body, cancel: cancel)
    }

    /// `path?k=v&...` with values percent-encoded as Go's `url.QueryEscape` would.
    static func uri(_ path: String, query: [(String, String)]) -> String {
        guard !query.isEmpty else { return path }
        let pairs = query.map { "\(escape($0.0))=\(escape($0.1))" }
        return path + "?" + pairs.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A path segment percent-encoded: only RFC 3986 unreserved ASCII characters stay as they are.
    public static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
