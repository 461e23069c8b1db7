import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import OpenSSLTLS

@Suite("Hot reload of certificate files")
struct ReloadTests {
    @Test func rotationReachesNewConnectionsOnlyAndHalfRotationWaitsForTheKey() async throws {
        let pki = try TestPKI.require()
        let files = try pki.copyServerIdentity()
        let provider = try TLSContextProvider(
            configuration: TLSServerConfiguration(certificateChainFile: files.cert, privateKeyFile: files.key),
            logger: Logger(label: "test"))
        #expect(provider.certificateSerial == "1001")
        #expect(provider.reloadCount == 0)
        let notAfter = try #require(provider.certificateNotAfter)
        #expect(notAfter > Date().addingTimeInterval(29 * 86_400) && notAfter < Date().addingTimeInterval(31 * 86_400))
        #expect(provider.checkForChanges() == false, "nothing changed yet")

        let server = try await TestServer.start(provider: provider)
        defer { Task { await server.stop() } }
        let clientContext = try OpenSSLContext(configuration: TLSClientConfiguration(trustedCAFile: pki.caFile))
        let (oldChannel, oldRecorder) = try await connectClient(port: server.port, context: clientContext, serverHostname: "localhost")
        #expect(await eventually { oldRecorder.handshake != nil })
        #expect(oldRecorder.handshake?.peerCertificateSerial == "1001")

        // cert-manager writes the certificate first: the pair does not match yet.
        try FileManager.default.removeItem(atPath: files.cert)
        try FileManager.default.copyItem(atPath: pki.path("server2.pem"), toPath: files.cert)
        #expect(provider.checkForChanges() == false)
        #expect(provider.checkForChanges() == false, "the same broken pair is not retried or logged again")
        #expect(provider.reloadCount == 0)
        #expect(provider.certificateSerial == "1001")
        let (midChannel, midRecorder) = try await connectClient(port: server.port, context: clientContext, serverHostname: "localhost")
        #expect(await eventually { midRecorder.handshake != nil })
        #expect(midRecorder.handshake?.peerCertificateSerial == "1001", "old context still served")
        try? await midChannel.close()

        // Then the key: the pair matches and is loaded.
        try FileManager.default.removeItem(atPath: files.key)
        try FileManager.default.copyItem(atPath: pki.path("server2.key"), toPath: files.key)
        #expect(provider.checkForChanges() == true)
        #expect(provider.reloadCount == 1)
        #expect(provider.certificateSerial == "1002")

        let (newChannel, newRecorder) = try await connectClient(port: server.port, context: clientContext, serverHostname: "localhost")
        #expect(await eventually { newRecorder.handshake != nil })
        #expect(newRecorder.handshake?.peerCertificateSerial == "1002")

        // The connection opened before the rotation still works on its old session.
        try await oldChannel.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")).get()
        #expect(await eventually { oldRecorder.received.contains("200 OK") })
        #expect(oldRecorder.errors.isEmpty)

        let sClient = await run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.caFile,
                                                    "-servername", "localhost", "-showcerts"], stdin: "", timeout: 15)
        let pem = sClient.stdout
        let serial = await run("/bin/bash", ["-c", "echo \"$0\" | openssl x509 -noout -serial", pem], timeout: 10)
        #expect(serial.stdout.contains("serial=1002"), "s_client sees the rotated certificate: \(serial.stdout)\(serial.stderr)")

        try? await oldChannel.close()
        try? await newChannel.close()
    }

    @Test func pollingPicksUpChangesByItself() async throws {
        let pki = try TestPKI.require()
        let files = try pki.copyServerIdentity()
        let provider = try TLSContextProvider(
            configuration: TLSServerConfiguration(certificateChainFile: files.cert, privateKeyFile: files.key),
            logger: Logger(label: "test"))
        provider.startWatching(on: MultiThreadedEventLoopGroup.singleton.next(), every: .milliseconds(50))
        defer { provider.stopWatching() }
        // Key first this time, then the certificate: still never a mismatched context.
        try FileManager.default.removeItem(atPath: files.key)
        try FileManager.default.copyItem(atPath: pki.path("server2.key"), toPath: files.key)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(provider.certificateSerial == "1001")
        try FileManager.default.removeItem(atPath: files.cert)
        try FileManager.default.copyItem(atPath: pki.path("server2.pem"), toPath: files.cert)
        #expect(await eventually { provider.reloadCount == 1 })
        #expect(provider.certificateSerial == "1002")
    }

    @Test func reloadNowReportsABrokenPairAndKeepsTheOldContext() throws {
        let pki = try TestPKI.require()
        let files = try pki.copyServerIdentity()
        let provider = try TLSContextProvider(
            configuration: TLSServerConfiguration(certificateChainFile: files.cert, privateKeyFile: files.key),
            logger: Logger(label: "test"))
        let before = provider.currentContext
        try FileManager.default.removeItem(atPath: files.key)
        try FileManager.default.copyItem(atPath: pki.path("client.key"), toPath: files.key)
        #expect(throws: OpenSSLTLSError.self) { try provider.reloadNow() }
        #expect(provider.currentContext === before)
        #expect(provider.reloadCount == 0)
    }

    @Test func invalidConfigurationsAreRejectedWithOpenSSLReasons() throws {
        let pki = try TestPKI.require()
        var missingKey = pki.serverConfiguration()
        missingKey.privateKeyFile = pki.path("does-not-exist.key")
        #expect(throws: OpenSSLTLSError.self) { try OpenSSLContext(configuration: missingKey) }
        var mismatched = pki.serverConfiguration()
        mismatched.privateKeyFile = pki.path("client.key")
        do {
            _ = try OpenSSLContext(configuration: mismatched)
            Issue.record("a mismatched key must be refused")
        } catch let OpenSSLTLSError.invalidConfiguration(reason) {
            #expect(reason.contains("mismatch"), "\(reason)")
        }
        var needsCA = pki.serverConfiguration()
        needsCA.clientCertificateVerification = .require
        #expect(throws: OpenSSLTLSError.self) { try OpenSSLContext(configuration: needsCA) }
        let client = try OpenSSLContext(configuration: TLSClientConfiguration(trustedCAFile: pki.caFile))
        #expect(throws: OpenSSLTLSError.self) { try OpenSSLServerHandler(context: client) }
    }
}
