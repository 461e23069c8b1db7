import Certificates
import Foundation
import NIOCore
import NIOEmbedded
import OpenSSLTLS

/// The server context, made once: a development CA and serving pair written to a temporary directory.
private let serverContext: OpenSSLContext = {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mtls-guard-fuzz-\(getpid())")
    do {
        try ServingCertificateSet.write(to: directory, commonName: "localhost", sans: ["DNS:localhost"],
                                        keyType: .ecdsaP256, validity: 86_400)
        let configuration = TLSServerConfiguration(
            certificateChainFile: directory.appendingPathComponent("tls.crt").path,
            privateKeyFile: directory.appendingPathComponent("tls.key").path)
        return try OpenSSLContext(configuration: configuration)
    } catch {
        fatalError("fuzzer set-up failed: \(error)")
    }
}()

/// libFuzzer entry: bytes from a client, in chunks, to the server-role OpenSSL handler on an
/// in-memory channel; whatever it answers is drained; the channel is then closed.
@_cdecl("LLVMFuzzerTestOneInput")
public func tlsHandlerFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let channel = EmbeddedChannel()
    guard let handler = try? OpenSSLServerHandler(context: serverContext),
          (try? channel.pipeline.syncOperations.addHandler(handler)) != nil,
          (try? channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()) != nil
    else { return 0 }
    var rest = UnsafeBufferPointer(start: data, count: size)[...]
    // The first byte, when present, sets the chunk size, so record boundaries vary.
    let chunk = max(1, Int(rest.first ?? 0) * 8)
    while !rest.isEmpty, channel.isActive {
        let piece = rest.prefix(chunk)
        rest = rest.dropFirst(piece.count)
        var buffer = channel.allocator.buffer(capacity: piece.count)
        buffer.writeBytes(piece)
        _ = try? channel.writeInbound(buffer)
        while (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil != nil {}
        while (try? channel.readInbound(as: ByteBuffer.self)) ?? nil != nil {}
    }
    _ = try? channel.finish()
    // A channel closed by the handler tears its pipeline down in a task on the embedded loop.
    channel.embeddedEventLoop.run()
    return 0
}
