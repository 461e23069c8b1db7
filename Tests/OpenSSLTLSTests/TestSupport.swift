import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import OpenSSLTLS

/// Test certificates made by the openssl CLI: CA, server (SANs localhost/127.0.0.1, serial
/// 1001), rotated server (serial 1002), client signed by the CA, an unrelated CA and a client
/// signed by it. Generated once per test process; tests that mutate files copy them first.
struct TestPKI: Sendable {
    let directory: URL
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    var caFile: String { path("ca.pem") }
    var otherCAFile: String { path("other-ca.pem") }
    var serverCert: String { path("server.pem") }
    var serverKey: String { path("server.key") }

    static let shared: TestPKI? = try? TestPKI.generate()

    static func require() throws -> TestPKI { try #require(shared, "openssl CLI could not generate test certificates") }

    private static func generate() throws -> TestPKI {
        let directory = try makeTemporaryDirectory(prefix: "pki")
        let script = """
            set -e
            KEY="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
            ca() { openssl req -x509 $KEY -keyout $1.key -out $1.pem -days 30 -subj "$2" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; }
            leaf() {
              openssl req $KEY -keyout $1.key -out $1.csr -subj "$2" 2>/dev/null
              openssl x509 -req -in $1.csr -CA $5.pem -CAkey $5.key -set_serial $3 -days 30 -extfile $4 -out $1.pem 2>/dev/null
            }
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            ca ca "/CN=Test Root CA"
            ca other-ca "/CN=Unrelated CA"
            leaf server "/O=mtls-guard/CN=localhost" 0x1001 server.ext ca
            leaf server2 "/O=mtls-guard/CN=localhost" 0x1002 server.ext ca
            leaf client "/O=kube/CN=admission-client" 0x2001 client.ext ca
            leaf rogue "/O=rogue/CN=rogue-client" 0x3001 client.ext other-ca
            """
        let result = runSync("/bin/bash", ["-c", script], currentDirectory: directory, timeout: 30)
        guard result.status == 0 else { throw TestFailure("certificate generation failed: \(result.stderr)") }
        return TestPKI(directory: directory)
    }

    /// A private copy of the server identity files, for tests that rewrite them.
    func copyServerIdentity() throws -> (cert: String, key: String, directory: URL) {
        let directory = try makeTemporaryDirectory(prefix: "rotate")
        let cert = directory.appendingPathComponent("tls.crt").path
        let key = directory.appendingPathComponent("tls.key").path
        try FileManager.default.copyItem(atPath: serverCert, toPath: cert)
        try FileManager.default.copyItem(atPath: serverKey, toPath: key)
        return (cert, key, directory)
    }

    func serverConfiguration() -> TLSServerConfiguration {
        TLSServerConfiguration(certificateChainFile: serverCert, privateKeyFile: serverKey)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func makeTemporaryDirectory(prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("mtls-guard-tls-\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

/// Runs a subprocess with a hard timeout; output goes through files so a chatty child can
/// never block on a full pipe.
func runSync(_ executable: String, _ arguments: [String], stdin: String? = nil,
             currentDirectory: URL? = nil, timeout: TimeInterval = 20) -> ProcessResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mtls-guard-proc-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out")
    let errURL = scratch.appendingPathComponent("err")
    let inURL = scratch.appendingPathComponent("in")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    guard let out = FileHandle(forWritingAtPath: outURL.path),
          let err = FileHandle(forWritingAtPath: errURL.path),
          let input = FileHandle(forReadingAtPath: inURL.path) else {
        return ProcessResult(status: -1, stdout: "", stderr: "cannot create scratch files", timedOut: false)
    }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    do { try process.run() } catch {
        return ProcessResult(status: -1, stdout: "", stderr: "cannot run \(executable): \(error)", timedOut: false)
    }
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    while process.isRunning {
        if Date() > deadline {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            break
        }
        usleep(10_000)
    }
    process.waitUntilExit()
    try? out.close()
    try? err.close()
    try? input.close()
    let stdout = readText(outURL.path)
    let stderr = readText(errURL.path)
    return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
}

/// Reads with plain POSIX calls: on this toolchain both `String(contentsOf:)` and
/// `FileManager.contents(atPath:)` leak their read buffer (4 KiB per call on an empty or still
/// growing file, such as a subprocess's output), which LeakSanitizer reports.
func readText(_ path: String) -> String {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return "" }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            bytes.append(contentsOf: chunk[..<count])
        } else if count < 0, errno == EINTR {
            continue
        } else {
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Async wrapper so a subprocess never blocks the cooperative pool's few threads.
func run(_ executable: String, _ arguments: [String], stdin: String? = nil, timeout: TimeInterval = 20) async -> ProcessResult {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: runSync(executable, arguments, stdin: stdin, timeout: timeout))
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: TimeInterval = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    return condition()
}

/// What a pipeline saw above the TLS handler. Thread-safe so tests can read it from any task.
final class Recorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    struct Record {
        var handshake: TLSHandshakeCompleted?
        var errors: [any Error] = []
        var received = ""
        var inputClosed = false
        var inactive = false
    }

    let record = NIOLockedValueBox(Record())

    var handshake: TLSHandshakeCompleted? { record.withLockedValue { $0.handshake } }
    var errors: [any Error] { record.withLockedValue { $0.errors } }
    var tlsErrors: [OpenSSLTLSError] { errors.compactMap { $0 as? OpenSSLTLSError } }
    var received: String { record.withLockedValue { $0.received } }
    var inactive: Bool { record.withLockedValue { $0.inactive } }
    var inputClosed: Bool { record.withLockedValue { $0.inputClosed } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        record.withLockedValue { $0.received += String(buffer: buffer) }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            record.withLockedValue { $0.handshake = handshake }
        } else if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            record.withLockedValue { $0.inputClosed = true }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        record.withLockedValue { $0.errors.append(error) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        record.withLockedValue { $0.inactive = true }
        context.fireChannelInactive()
    }
}

/// Counts handshake failures reported through `onHandshakeFailure`.
final class FailureCounter: Sendable {
    private let failures = NIOLockedValueBox<[OpenSSLTLSError]>([])
    var all: [OpenSSLTLSError] { failures.withLockedValue { $0 } }
    var hook: @Sendable (OpenSSLTLSError) -> Void { { [self] error in failures.withLockedValue { $0.append(error) } } }
}

/// A minimal HTTP/1.1 responder: for every request head it answers 200 with a body naming the
/// TLS peer (from the handshake event), keeping the connection unless asked to close.
final class HTTPResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var pending = ""
    private var peer = "none"

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            peer = handshake.peerSubject ?? "none"
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += String(buffer: unwrapInboundIn(data))
        while let end = pending.range(of: "\r\n\r\n") {
            let head = pending[..<end.lowerBound].lowercased()
            pending.removeSubrange(..<end.upperBound)
            let close = head.contains("connection: close")
            let body = "hello peer=\(peer)\n"
            let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n" + body
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
            if close {
                context.close(promise: nil)
                return
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A loopback HTTPS server on port 0 whose connections use the provider's current context.
struct TestServer {
    let channel: any Channel
    let recorders: NIOLockedValueBox<[Recorder]>
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(provider: TLSContextProvider) async throws -> TestServer {
        let recorders = NIOLockedValueBox<[Recorder]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let recorder = Recorder()
                    recorders.withLockedValue { $0.append(recorder) }
                    try channel.pipeline.syncOperations.addHandler(OpenSSLServerHandler(provider: provider))
                    try channel.pipeline.syncOperations.addHandler(recorder)
                    try channel.pipeline.syncOperations.addHandler(HTTPResponder())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestServer(channel: channel, recorders: recorders)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Connects the client handler to 127.0.0.1:port and returns the channel and its recorder.
func connectClient(port: Int, context: OpenSSLContext, serverHostname: String?) async throws -> (any Channel, Recorder) {
    let recorder = Recorder()
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connectTimeout(.seconds(5))
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(OpenSSLClientHandler(context: context, serverHostname: serverHostname))
                try channel.pipeline.syncOperations.addHandler(recorder)
            }
        }
        .connect(host: "127.0.0.1", port: port)
        .get()
    return (channel, recorder)
}
