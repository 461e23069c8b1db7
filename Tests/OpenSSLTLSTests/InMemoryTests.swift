import NIOCore
import NIOEmbedded
import Testing
@testable import OpenSSLTLS

/// A client-role and a server-role handler on two `EmbeddedChannel`s, bytes shuttled by hand.
final class EmbeddedPair {
    let client = EmbeddedChannel()
    let server = EmbeddedChannel()
    let clientRecorder = Recorder()
    let serverRecorder = Recorder()
    let failures = FailureCounter()
    let serverHandler: OpenSSLServerHandler
    let clientHandler: OpenSSLClientHandler

    init(pki: TestPKI, alpn: [String] = ["http/1.1"], maxBuffered: Int = 1 << 20) throws {
        var serverConfig = pki.serverConfiguration()
        serverConfig.onHandshakeFailure = failures.hook
        serverConfig.maximumBufferedPlaintextBytes = maxBuffered
        var clientConfig = TLSClientConfiguration(trustedCAFile: pki.caFile)
        clientConfig.alpnProtocols = alpn
        clientConfig.maximumBufferedPlaintextBytes = maxBuffered
        serverHandler = try OpenSSLServerHandler(context: OpenSSLContext(configuration: serverConfig))
        clientHandler = try OpenSSLClientHandler(context: OpenSSLContext(configuration: clientConfig), serverHostname: "localhost")
        try server.pipeline.syncOperations.addHandler(serverHandler)
        try server.pipeline.syncOperations.addHandler(serverRecorder)
        try client.pipeline.syncOperations.addHandler(clientHandler)
        try client.pipeline.syncOperations.addHandler(clientRecorder)
    }

    func activate() throws {
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
    }

    /// Moves bytes both ways until neither side has anything left to send.
    func interact() throws {
        var moved = true
        while moved {
            moved = false
            while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                if server.isActive { try server.writeInbound(bytes) }
                moved = true
            }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                if client.isActive { try client.writeInbound(bytes) }
                moved = true
            }
        }
    }

    func handshake() throws {
        try activate()
        try interact()
    }

    func drainClientOutbound() throws -> ByteBuffer {
        var all = ByteBuffer()
        while var bytes = try client.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&bytes) }
        return all
    }

    /// Closes and finishes both channels, whatever state the test left them in.
    func finish() {
        finishEmbedded(client, server)
    }
}

/// Runs `body` on a fresh pair and always finishes both channels afterwards: an unfinished
/// `EmbeddedChannel` is a reference cycle (channel <-> pipeline, plus its event loop's scheduled
/// tasks), which keeps the handlers and their `SSL` objects alive for LeakSanitizer to report.
func withChannelPair(alpn: [String] = ["http/1.1"], maxBuffered: Int = 1 << 20,
                     _ body: (EmbeddedPair) throws -> Void) throws {
    let pair = try EmbeddedPair(pki: TestPKI.require(), alpn: alpn, maxBuffered: maxBuffered)
    defer { pair.finish() }
    try body(pair)
}

/// Closes and finishes each channel, tolerating channels that are already closed.
///
/// `finish()` alone can block forever: closing an established TLS channel sends close_notify
/// and waits for the peer's answer, which nobody shuttles any more. So close first, let the
/// handler's (bounded) shutdown timer fire, and only then finish.
func finishEmbedded(_ channels: EmbeddedChannel...) {
    for channel in channels {
        channel.close(promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .hours(1))
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }
}

@Suite("In-memory TLS (EmbeddedChannel)")
struct InMemoryTests {
    @Test func handshakeNegotiatesTLS13AndALPNAndCarriesDataBothWays() throws {
        try withChannelPair { pair in
            try pair.handshake()
            let serverSide = try #require(pair.serverRecorder.handshake)
            let clientSide = try #require(pair.clientRecorder.handshake)
            #expect(serverSide.protocolVersion == "TLSv1.3")
            #expect(serverSide.alpnProtocol == "http/1.1")
            #expect(clientSide.alpnProtocol == "http/1.1")
            #expect(serverSide.peerSubject == nil)  // server asked for no client certificate
            #expect(clientSide.peerCommonName == "localhost")
            #expect(clientSide.peerSubject == "CN=localhost,O=mtls-guard")
            #expect(clientSide.peerCertificateSerial == "1001")
            #expect(pair.clientHandler.peerSubject == "CN=localhost,O=mtls-guard")

            try pair.client.writeAndFlush(ByteBuffer(string: "ping")).wait()
            try pair.interact()
            #expect(try pair.server.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "ping"))
            pair.server.writeAndFlush(ByteBuffer(string: "pong"), promise: nil)
            try pair.interact()
            #expect(try pair.client.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "pong"))
            #expect(pair.serverRecorder.errors.isEmpty && pair.clientRecorder.errors.isEmpty)
            #expect(pair.failures.all.isEmpty)
        }
    }

    /// Small writes flushed together go out as one TLS record (an HTTP answer's head and body),
    /// larger ones as the records they need; every write's promise completes and the peer reads the
    /// bytes in order.
    @Test(arguments: [(["HTTP/1.1 200 OK\r\n\r\n", "{\"allowed\":true}", ""], 1), ([String(repeating: "a", count: 12_000), String(repeating: "b", count: 12_000)], 2)])
    func writesFlushedTogetherShareARecord(parts: [String], records: Int) throws {
        try withChannelPair { pair in
            try pair.handshake()
            let written = parts.map { pair.server.write(ByteBuffer(string: $0)) }
            pair.server.flush()
            var ciphertext = ByteBuffer()
            while var bytes = try pair.server.readOutbound(as: ByteBuffer.self) { ciphertext.writeBuffer(&bytes) }
            var count = 0
            var view = ciphertext
            while let header = view.readBytes(length: 5) {
                #expect(header[0] == 23)  // application data
                view.moveReaderIndex(forwardBy: Int(header[3]) << 8 | Int(header[4]))
                count += 1
            }
            #expect(count == records)
            try pair.client.writeInbound(ciphertext)
            for promise in written { try promise.wait() }
            var received = ""
            while var bytes = try pair.client.readInbound(as: ByteBuffer.self) { received += bytes.readString(length: bytes.readableBytes) ?? "" }
            #expect(received == parts.joined())
        }
    }

    @Test func clientOfferingOnlyOtherALPNStillConnectsWithoutALPN() throws {
        try withChannelPair(alpn: ["h2"]) { pair in
            try pair.handshake()
            #expect(try #require(pair.serverRecorder.handshake).alpnProtocol == nil)
        }
    }

    @Test func writesBeforeHandshakeWaitForItAndForFlush() throws {
        try withChannelPair { pair in
            try pair.activate()
            let written = pair.client.write(ByteBuffer(string: "early"))
            try pair.interact()
            // Handshake done, but the write was never flushed: nothing may have been sent.
            #expect(try pair.server.readInbound(as: ByteBuffer.self) == nil)
            pair.client.flush()
            try pair.interact()
            #expect(try pair.server.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "early"))
            try written.wait()
        }
    }

    @Test func plaintextBufferedDuringHandshakeIsCapped() throws {
        try withChannelPair(maxBuffered: 8) { pair in
            try pair.activate()
            let small = pair.client.write(ByteBuffer(string: "12345"))
            let tooMuch = pair.client.write(ByteBuffer(string: "6789"))
            #expect(throws: OpenSSLTLSError.bufferLimitExceeded(limit: 8)) { try tooMuch.wait() }
            pair.client.flush()
            try pair.interact()
            try small.wait()
            #expect(try pair.server.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "12345"))
        }
    }

    @Test func closeNotifyIsExchangedAndBothSidesCloseCleanly() throws {
        try withChannelPair { pair in
            try pair.handshake()
            let closed = pair.client.close()
            try pair.interact()
            try closed.wait()
            #expect(!pair.server.isActive)
            #expect(!pair.client.isActive)
            #expect(pair.serverRecorder.errors.isEmpty, "a close_notify close is clean")
            #expect(pair.clientRecorder.errors.isEmpty)
        }
    }

    @Test func closeWithPendingWritesSendsThemBeforeCloseNotifyAndRefusesLaterOnes() throws {
        try withChannelPair { pair in
            try pair.handshake()
            let first = pair.server.write(ByteBuffer(string: "last words"))  // not flushed
            let closed = pair.server.close()
            let late = pair.server.write(ByteBuffer(string: "too late"))
            pair.server.flush()
            #expect(throws: ChannelError.outputClosed) { try late.wait() }
            try pair.interact()
            try first.wait()
            try closed.wait()
            #expect(pair.clientRecorder.received == "last words")
            #expect(!pair.client.isActive, "the client answers close_notify by closing")
            #expect(pair.clientRecorder.errors.isEmpty)
        }
    }

    @Test func dataBeforeCloseNotifyInOneReadIsDeliveredFirst() throws {
        try withChannelPair { pair in
            try pair.handshake()
            pair.client.write(ByteBuffer(string: "request"), promise: nil)
            pair.client.close(promise: nil)
            let both = try pair.drainClientOutbound()
            try pair.server.writeInbound(both)
            #expect(try pair.server.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "request"))
            #expect(!pair.server.isActive)
        }
    }

    @Test func tls13DataInTheSameReadAsFinishedIsDecoded() throws {
        try withChannelPair { pair in
            try pair.activate()
            // ClientHello -> server; server flight -> client, which completes its side.
            try pair.server.writeInbound(try pair.drainClientOutbound())
            while let bytes = try pair.server.readOutbound(as: ByteBuffer.self) { try pair.client.writeInbound(bytes) }
            #expect(pair.clientRecorder.handshake != nil)
            #expect(pair.serverRecorder.handshake == nil)
            pair.client.writeAndFlush(ByteBuffer(string: "piggyback"), promise: nil)
            // Finished and the first application record arrive in a single read.
            try pair.server.writeInbound(try pair.drainClientOutbound())
            #expect(pair.serverRecorder.handshake != nil)
            #expect(try pair.server.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "piggyback"))
        }
    }

    @Test func garbageBytesFailTheHandshakeAndCloseTheChannel() throws {
        try withChannelPair { pair in
            try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try pair.server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
            #expect(!pair.server.isActive)
            let error = try #require(pair.serverRecorder.tlsErrors.first)
            guard case .handshakeFailed(let reason) = error else {
                Issue.record("expected handshakeFailed, got \(error)")
                return
            }
            #expect(reason.contains("http request") || reason.contains("wrong version"), "OpenSSL reason text: \(reason)")
            #expect(pair.failures.all == [error])
        }
    }

    @Test func truncatedClientHelloHitsTheHandshakeTimeout() throws {
        try withChannelPair { pair in
            try pair.activate()
            var hello = try pair.drainClientOutbound()
            let slice = hello.readSlice(length: 20)
            let partial = try #require(slice)
            try pair.server.writeInbound(partial)
            pair.server.embeddedEventLoop.advanceTime(by: .seconds(9))
            #expect(pair.server.isActive)
            pair.server.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(!pair.server.isActive)
            #expect(pair.serverRecorder.tlsErrors == [.handshakeTimeout(.seconds(10))])
            #expect(pair.failures.all == [.handshakeTimeout(.seconds(10))])
        }
    }

    @Test func abruptCloseWithoutCloseNotifyIsAnUncleanShutdown() throws {
        try withChannelPair { pair in
            try pair.handshake()
            pair.server.pipeline.fireChannelInactive()
            #expect(pair.serverRecorder.tlsErrors == [.uncleanShutdown])
            #expect(pair.failures.all.isEmpty, "not a handshake failure")
        }
    }

    @Test func connectionDroppedBeforeAnyByteIsNotCountedAsHandshakeFailure() throws {
        try withChannelPair { pair in
            try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            pair.server.pipeline.fireChannelInactive()
            #expect(pair.serverRecorder.tlsErrors == [.uncleanShutdown])
            #expect(pair.failures.all.isEmpty)
        }
    }

    @Test func halfCloseLetsTheServerAnswerAfterTheClientsCloseNotify() throws {
        try withChannelPair { pair in
            try pair.server.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).wait()
            try pair.handshake()
            pair.client.write(ByteBuffer(string: "question"), promise: nil)
            // EmbeddedChannel cannot half-close, so the client's bytes are moved by hand.
            pair.client.close(mode: .output, promise: nil)
            try pair.server.writeInbound(try pair.drainClientOutbound())
            #expect(pair.serverRecorder.received == "question")
            #expect(pair.serverRecorder.inputClosed, "close_notify surfaces as ChannelEvent.inputClosed")
            #expect(pair.server.isActive, "the server may still answer")
            try pair.server.writeAndFlush(ByteBuffer(string: "answer")).wait()
            let answer = try pair.server.readOutbound(as: ByteBuffer.self)
            #expect((answer?.readableBytes ?? 0) > "answer".utf8.count, "an encrypted record went out")
            try pair.server.close().wait()
            #expect(!pair.server.isActive, "with both close_notifys sent there is nothing to wait for")
            #expect(pair.serverRecorder.errors.isEmpty)
        }
    }

    @Test func wrongTrustAnchorFailsOnBothSides() throws {
        let pki = try TestPKI.require()
        let failures = FailureCounter()
        var serverConfig = pki.serverConfiguration()
        serverConfig.onHandshakeFailure = failures.hook
        let server = EmbeddedChannel()
        let client = EmbeddedChannel()
        defer { finishEmbedded(client, server) }
        let clientRecorder = Recorder()
        try server.pipeline.syncOperations.addHandler(OpenSSLServerHandler(context: OpenSSLContext(configuration: serverConfig)))
        try client.pipeline.syncOperations.addHandler(OpenSSLClientHandler(
            context: OpenSSLContext(configuration: TLSClientConfiguration(trustedCAFile: pki.otherCAFile)), serverHostname: "localhost"))
        try client.pipeline.syncOperations.addHandler(clientRecorder)
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        while let bytes = try client.readOutbound(as: ByteBuffer.self) { _ = try? server.writeInbound(bytes) }
        while let bytes = try server.readOutbound(as: ByteBuffer.self) { _ = try? client.writeInbound(bytes) }
        while let bytes = try client.readOutbound(as: ByteBuffer.self) { _ = try? server.writeInbound(bytes) }
        #expect(!client.isActive)
        #expect(!server.isActive, "the client's alert ends the server's handshake")
        guard case .handshakeFailed(let reason)? = clientRecorder.tlsErrors.first else {
            Issue.record("expected a handshake failure, got \(clientRecorder.errors)")
            return
        }
        #expect(reason.contains("certificate verify failed"))
        #expect(failures.all.count == 1)
    }

    /// A connection closed mid-handshake must not stay alive through its pending handshake
    /// timeout task (which holds the handler, its context and its `SSL`) until the task fires.
    @Test func closingDuringTheHandshakeReleasesTheHandler() throws {
        let pki = try TestPKI.require()
        let channel = EmbeddedChannel()
        defer { finishEmbedded(channel) }
        weak var released: OpenSSLServerHandler?
        do {
            let handler = try OpenSSLServerHandler(context: OpenSSLContext(configuration: pki.serverConfiguration()))
            released = handler
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()  // arms the timer
        try channel.close().wait()
        channel.embeddedEventLoop.run()  // the pipeline is torn down on the next loop tick
        #expect(released == nil, "the channel's event loop still holds the handler")
    }
}
