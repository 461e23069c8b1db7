import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import OpenSSLTLS

/// The server handler on real sockets against real TLS clients run as subprocesses.
@Suite("Server role against curl, openssl s_client and Python")
struct LoopbackServerTests {
    static func provider(_ pki: TestPKI, _ configure: (inout TLSServerConfiguration) -> Void = { _ in }) throws -> TLSContextProvider {
        var configuration = pki.serverConfiguration()
        configure(&configuration)
        return try TLSContextProvider(configuration: configuration, logger: Logger(label: "test"))
    }

    @Test func curlVerifiesCertificateAndSANAndReusesTheConnection() async throws {
        let pki = try TestPKI.require()
        let server = try await TestServer.start(provider: Self.provider(pki))
        defer { Task { await server.stop() } }
        let url = "https://localhost:\(server.port)/"
        let result = await run("/usr/bin/curl", [
            "-sS", "-v", "--max-time", "10", "--cacert", pki.caFile,
            "-w", "connects=%{num_connects}\\n", url, url, url,
        ])
        #expect(result.status == 0, "curl failed: \(result.stderr)")
        #expect(result.stdout.components(separatedBy: "hello peer=none").count - 1 == 3)
        #expect(result.stdout.contains("connects=1"))
        #expect(result.stdout.contains("connects=0"), "the second request reused the connection")
        #expect(result.stderr.contains("Re-using existing connection") || result.stderr.contains("Reusing existing"))
        #expect(result.stderr.contains("subjectAltName: host \"localhost\" matched"))
        #expect(result.stderr.contains("ALPN: server accepted http/1.1") || result.stderr.contains("ALPN, server accepted to use http/1.1"))

        let byIP = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.caFile, "https://127.0.0.1:\(server.port)/"])
        #expect(byIP.status == 0 && byIP.stdout.contains("hello"), "IP SAN: \(byIP.stderr)")
        let wrongCA = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.otherCAFile, url])
        #expect(wrongCA.status == 60, "curl must reject an untrusted chain: \(wrongCA.stderr)")
    }

    @Test func opensslClientNegotiatesVersionsAndALPN() async throws {
        let pki = try TestPKI.require()
        let server = try await TestServer.start(provider: Self.provider(pki))
        defer { Task { await server.stop() } }
        let connect = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", pki.caFile, "-verify_return_error", "-servername", "localhost"]

        let tls13 = await run("/usr/bin/openssl", connect + ["-alpn", "http/1.1"], stdin: "", timeout: 15)
        #expect(tls13.stdout.contains("New, TLSv1.3"), "\(tls13.stdout)\(tls13.stderr)")
        #expect(tls13.stdout.contains("ALPN protocol: http/1.1"))
        #expect(tls13.stdout.contains("Verify return code: 0 (ok)"))

        let tls12 = await run("/usr/bin/openssl", connect + ["-tls1_2"], stdin: "", timeout: 15)
        #expect(tls12.stdout.contains("New, TLSv1.2"), "\(tls12.stdout)\(tls12.stderr)")
        #expect(tls12.stdout.contains("ECDHE"))

        let tls11 = await run("/usr/bin/openssl", connect + ["-tls1_1"], stdin: "", timeout: 15)
        #expect(tls11.status != 0)
        #expect(!tls11.stdout.contains("New, TLSv1.1"))

        let onlyH2 = await run("/usr/bin/openssl", connect + ["-alpn", "h2"], stdin: "", timeout: 15)
        #expect(onlyH2.stdout.contains("No ALPN negotiated"), "a client without http/1.1 still connects")
        #expect(onlyH2.stdout.contains("New, TLSv1.3"))
    }

    @Test func minimumVersionTLS13RefusesTLS12() async throws {
        let pki = try TestPKI.require()
        let server = try await TestServer.start(provider: Self.provider(pki) { $0.minimumVersion = .tls13 })
        defer { Task { await server.stop() } }
        let result = await run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_2"], stdin: "", timeout: 15)
        #expect(result.status != 0)
        #expect(!result.stdout.contains("New, TLSv1.2"))
    }

    @Test func pythonSSLModuleTalksHTTP() async throws {
        let pki = try TestPKI.require()
        let server = try await TestServer.start(provider: Self.provider(pki))
        defer { Task { await server.stop() } }
        let script = """
            import socket, ssl, sys
            ctx = ssl.create_default_context(cafile=sys.argv[1])
            ctx.set_alpn_protocols(["http/1.1"])
            with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    print(s.version(), s.selected_alpn_protocol())
                    print(data.decode())
            """
        let result = await run("/usr/bin/env", ["python3", "-c", script, pki.caFile, "\(server.port)"], timeout: 20)
        #expect(result.status == 0, "python failed: \(result.stderr)")
        #expect(result.stdout.contains("TLSv1.3 http/1.1"))
        #expect(result.stdout.contains("HTTP/1.1 200 OK"))
        #expect(result.stdout.contains("hello peer=none"))
    }

    @Test func garbageOnThePortIsCountedAndClosed() async throws {
        let pki = try TestPKI.require()
        let failures = FailureCounter()
        let server = try await TestServer.start(provider: Self.provider(pki) { $0.onHandshakeFailure = failures.hook })
        defer { Task { await server.stop() } }
        let result = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(server.port)/"])
        #expect(result.status != 0, "plain HTTP gets no HTTP answer")
        #expect(await eventually { failures.all.count == 1 })
        guard case .handshakeFailed? = failures.all.first else {
            Issue.record("expected handshakeFailed, got \(failures.all)")
            return
        }
    }

    @Test func requiredClientCertificateIsEnforcedAndItsSubjectExposed() async throws {
        let pki = try TestPKI.require()
        let failures = FailureCounter()
        let server = try await TestServer.start(provider: Self.provider(pki) {
            $0.clientCertificateVerification = .require
            $0.clientCAFile = pki.caFile
            $0.onHandshakeFailure = failures.hook
        })
        defer { Task { await server.stop() } }
        let url = "https://localhost:\(server.port)/"
        let accepted = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.caFile,
                                                   "--cert", pki.path("client.pem"), "--key", pki.path("client.key"), url])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout.contains("hello peer=CN=admission-client,O=kube"))
        let handshake = server.recorders.withLockedValue { $0.first?.handshake }
        #expect(handshake?.peerCommonName == "admission-client")

        let anonymous = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.caFile, url])
        #expect(anonymous.status != 0, "no client certificate must be refused")
        #expect(!anonymous.stdout.contains("hello"))

        let rogue = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.caFile,
                                                "--cert", pki.path("rogue.pem"), "--key", pki.path("rogue.key"), url])
        #expect(rogue.status != 0, "a certificate from another CA must be refused")
        #expect(await eventually { failures.all.count == 2 }, "both refusals counted: \(failures.all)")
    }

    @Test func optionalClientCertificateAcceptsBoth() async throws {
        let pki = try TestPKI.require()
        let server = try await TestServer.start(provider: Self.provider(pki) {
            $0.clientCertificateVerification = .optional
            $0.clientCAFile = pki.caFile
        })
        defer { Task { await server.stop() } }
        let url = "https://localhost:\(server.port)/"
        let anonymous = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.caFile, url])
        #expect(anonymous.stdout.contains("hello peer=none"), "\(anonymous.stderr)")
        let withCert = await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", pki.caFile,
                                                   "--cert", pki.path("client.pem"), "--key", pki.path("client.key"), url])
        #expect(withCert.stdout.contains("hello peer=CN=admission-client,O=kube"), "\(withCert.stderr)")
    }
}
