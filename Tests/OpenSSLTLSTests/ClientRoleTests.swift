import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import OpenSSLTLS

/// `openssl s_server` in a subprocess, on an ephemeral port it reports on stdout.
final class OpenSSLServerProcess: @unchecked Sendable {
    let process = Process()
    let outURL: URL
    private(set) var port = 0

    init(pki: TestPKI, extraArguments: [String] = []) throws {
        let directory = try makeTemporaryDirectory(prefix: "s_server")
        outURL = directory.appendingPathComponent("out")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        // stdbuf: s_server's stdout is a file here, and the ACCEPT line must not sit in a buffer.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/stdbuf")
        process.arguments = ["-oL", "/usr/bin/openssl", "s_server", "-accept", "0", "-cert", pki.serverCert, "-key", pki.serverKey,
                             "-CAfile", pki.caFile, "-www", "-naccept", "4"] + extraArguments
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { readText(outURL.path) }

    func waitForPort() async throws -> Int {
        let ready = await eventually { output.contains("ACCEPT") }
        guard ready, let line = output.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
              let portText = line.split(separator: ":").last, let port = Int(portText) else {
            throw TestFailure("s_server did not start: \(output)")
        }
        self.port = port
        return port
    }

    /// SIGKILL: children spawned from the test process do not reliably die on SIGTERM.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

@Suite("Client role against openssl s_server")
struct ClientRoleTests {
    /// Connects, sends an HTTP GET (s_server -www answers with a status page) and waits for the
    /// channel to finish, one way or the other.
    static func exchange(pki: TestPKI, client: TLSClientConfiguration, serverHostname: String?,
                         serverArguments: [String] = []) async throws -> (Recorder, String) {
        let server = try OpenSSLServerProcess(pki: pki, extraArguments: serverArguments)
        defer { server.stop() }
        let port = try await server.waitForPort()
        let context = try OpenSSLContext(configuration: client)
        let (channel, recorder) = try await connectClient(port: port, context: context, serverHostname: serverHostname)
        // Fails with the handshake error when verification fails; the recorder has it too.
        try? await channel.writeAndFlush(ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n")).get()
        _ = await eventually(timeout: 10) { recorder.inactive }
        try? await channel.close()
        return (recorder, server.output)
    }

    @Test func verifiesHostNameAndSendsRequest() async throws {
        let pki = try TestPKI.require()
        let (recorder, _) = try await Self.exchange(pki: pki, client: TLSClientConfiguration(trustedCAFile: pki.caFile), serverHostname: "localhost")
        #expect(recorder.handshake?.peerSubject == "CN=localhost,O=mtls-guard")
        #expect(recorder.handshake?.protocolVersion == "TLSv1.3")
        #expect(recorder.received.contains("HTTP/1.0 200 ok"), "s_server -www page: \(recorder.received.prefix(200))")
        #expect(recorder.tlsErrors.isEmpty, "s_server closes with close_notify: \(recorder.errors)")
    }

    @Test func wrongHostNameFails() async throws {
        let pki = try TestPKI.require()
        let (recorder, _) = try await Self.exchange(pki: pki, client: TLSClientConfiguration(trustedCAFile: pki.caFile), serverHostname: "not-the-server.example")
        #expect(recorder.handshake == nil)
        guard case .handshakeFailed(let reason)? = recorder.tlsErrors.first else {
            Issue.record("expected handshakeFailed, got \(recorder.errors)")
            return
        }
        #expect(reason.contains("hostname mismatch"), "\(reason)")
    }

    @Test func wrongCAFails() async throws {
        let pki = try TestPKI.require()
        let (recorder, _) = try await Self.exchange(pki: pki, client: TLSClientConfiguration(trustedCAFile: pki.otherCAFile), serverHostname: "localhost")
        #expect(recorder.handshake == nil)
        guard case .handshakeFailed(let reason)? = recorder.tlsErrors.first else {
            Issue.record("expected handshakeFailed, got \(recorder.errors)")
            return
        }
        #expect(reason.contains("certificate verify failed"), "\(reason)")
    }

    @Test func ipLiteralIsVerifiedAgainstIPSANs() async throws {
        let pki = try TestPKI.require()
        let good = try await Self.exchange(pki: pki, client: TLSClientConfiguration(trustedCAFile: pki.caFile), serverHostname: "127.0.0.1")
        #expect(good.0.handshake != nil, "127.0.0.1 is in the SANs: \(good.0.errors)")
        let bad = try await Self.exchange(pki: pki, client: TLSClientConfiguration(trustedCAFile: pki.caFile), serverHostname: "127.0.0.2")
        #expect(bad.0.handshake == nil)
        guard case .handshakeFailed(let reason)? = bad.0.tlsErrors.first else {
            Issue.record("expected handshakeFailed, got \(bad.0.errors)")
            return
        }
        #expect(reason.contains("IP address mismatch"), "\(reason)")
    }

    @Test func presentsClientCertificateWhenAsked() async throws {
        let pki = try TestPKI.require()
        var configuration = TLSClientConfiguration(trustedCAFile: pki.caFile)
        configuration.certificateChainFile = pki.path("client.pem")
        configuration.privateKeyFile = pki.path("client.key")
        let (recorder, serverOutput) = try await Self.exchange(pki: pki, client: configuration, serverHostname: "localhost",
                                                               serverArguments: ["-Verify", "1"])
        #expect(recorder.handshake != nil, "\(recorder.errors) \(serverOutput)")
        #expect(recorder.received.contains("200 ok"))
        #expect(serverOutput.contains("admission-client"), "s_server saw the client certificate: \(serverOutput)")

        let anonymous = try await Self.exchange(pki: pki, client: TLSClientConfiguration(trustedCAFile: pki.caFile),
                                                serverHostname: "localhost", serverArguments: ["-Verify", "1"])
        #expect(!anonymous.0.received.contains("200 ok"), "s_server -Verify refuses a client without certificate")
        #expect(!anonymous.0.tlsErrors.isEmpty)
    }

    /// A kubeconfig's `certificate-authority-data` and `client-*-data`: trust and identity from memory.
    @Test func inMemoryTrustAndClientIdentity() async throws {
        let pki = try TestPKI.require()
        func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
        var configuration = TLSClientConfiguration()
        configuration.trustedCAPEM = try bytes(pki.caFile)
        configuration.certificateChainPEM = try bytes(pki.path("client.pem"))
        configuration.privateKeyPEM = try bytes(pki.path("client.key"))
        let (recorder, serverOutput) = try await Self.exchange(pki: pki, client: configuration, serverHostname: "127.0.0.1",
                                                               serverArguments: ["-Verify", "1"])
        #expect(recorder.handshake != nil, "\(recorder.errors) \(serverOutput)")
        #expect(serverOutput.contains("admission-client"), "s_server saw the client certificate: \(serverOutput)")

        var untrusted = TLSClientConfiguration()
        untrusted.trustedCAPEM = try bytes(pki.otherCAFile)
        let refused = try await Self.exchange(pki: pki, client: untrusted, serverHostname: "127.0.0.1")
        guard case .handshakeFailed(let reason)? = refused.0.tlsErrors.first else {
            Issue.record("expected handshakeFailed, got \(refused.0.errors)")
            return
        }
        #expect(reason.contains("certificate verify failed"), "\(reason)")
    }

    @Test func inMemoryMaterialIsValidated() throws {
        var noCertificate = TLSClientConfiguration()
        noCertificate.trustedCAPEM = Array("not a certificate".utf8)
        #expect(throws: OpenSSLTLSError.self) { try OpenSSLContext(configuration: noCertificate) }
        let pki = try TestPKI.require()
        var mismatched = TLSClientConfiguration()
        mismatched.certificateChainPEM = Array(try Data(contentsOf: URL(fileURLWithPath: pki.path("client.pem"))))
        mismatched.privateKeyPEM = Array(try Data(contentsOf: URL(fileURLWithPath: pki.serverKey)))
        #expect(throws: OpenSSLTLSError.self) { try OpenSSLContext(configuration: mismatched) }
        var keyOnly = TLSClientConfiguration()
        keyOnly.privateKeyPEM = mismatched.privateKeyPEM
        #expect(throws: OpenSSLTLSError.self) { try OpenSSLContext(configuration: keyOnly) }
    }

    /// `insecure-skip-tls-verify`: the handshake completes against a server the client cannot verify.
    @Test func verificationCanBeTurnedOffExplicitly() async throws {
        let pki = try TestPKI.require()
        var configuration = TLSClientConfiguration(trustedCAFile: pki.otherCAFile)
        configuration.verifiesPeer = false
        let (recorder, _) = try await Self.exchange(pki: pki, client: configuration, serverHostname: nil)
        #expect(recorder.handshake != nil, "\(recorder.errors)")
    }
}
