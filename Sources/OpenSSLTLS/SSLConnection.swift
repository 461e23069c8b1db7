import COpenSSLShims
import NIOCore

/// One OpenSSL `SSL` object between two memory BIOs: ciphertext from the network is written
/// into `networkToSSL`, ciphertext to send is read out of `sslToNetwork`. The memory BIOs never
/// report EOF (an empty one says "retry"), so end-of-stream is decided by the handler.
/// Not thread-safe: used only on the channel's event loop.
final class SSLConnection {
    enum HandshakeOutcome {
        case complete
        case wantMore
        case failed(OpenSSLTLSError)
    }

    enum ReadOutcome {
        case bytes(Int)
        case wantMore
        case closeNotify
        case failed(OpenSSLTLSError)
    }

    private let ssl: OpaquePointer
    private let networkToSSL: OpaquePointer
    private let sslToNetwork: OpaquePointer
    /// Keeps the SSL_CTX wrapper (and its ALPN callback argument) alive as long as the SSL.
    let context: OpenSSLContext

    init(context: OpenSSLContext, serverHostname: String?) throws {
        ERR_clear_error()
        guard let ssl = SSL_new(context.sslContext) else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "SSL_new: \(drainOpenSSLErrors())")
        }
        guard let input = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLTLSError.invalidConfiguration(reason: "BIO_new: \(drainOpenSSLErrors())")
        }
        guard let output = BIO_new(BIO_s_mem()) else {
            BIO_free(input)
            SSL_free(ssl)
            throw OpenSSLTLSError.invalidConfiguration(reason: "BIO_new: \(drainOpenSSLErrors())")
        }
        SSL_set_bio(ssl, input, output)  // the SSL owns both BIOs from here
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverHostname, !serverHostname.isEmpty {
                guard mg_tls_set_peer_name(ssl, serverHostname, 1) == 1 else {
                    SSL_free(ssl)
                    throw OpenSSLTLSError.invalidConfiguration(reason: "server name '\(serverHostname)': \(drainOpenSSLErrors())")
                }
            }
        }
        self.ssl = ssl
        self.networkToSSL = input
        self.sslToNetwork = output
        self.context = context
    }

    deinit {
        SSL_free(ssl)
    }

    /// Hands received ciphertext to OpenSSL. A memory BIO grows as needed, so all of it fits.
    func receive(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            var written = 0
            _ = BIO_write_ex(networkToSSL, base, bytes.count, &written)
        }
    }

    func doHandshake() -> HandshakeOutcome {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .complete }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantMore
        default:
            var reason = drainOpenSSLErrors(fallback: "handshake aborted")
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
                reason += " (certificate verify: \(String(cString: text)))"
            }
            return .failed(.handshakeFailed(reason: reason))
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .wantMore }
        ERR_clear_error()
        var count = 0
        if SSL_read_ex(ssl, base, buffer.count, &count) == 1 { return .bytes(count) }
        switch SSL_get_error(ssl, 0) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantMore
        case SSL_ERROR_ZERO_RETURN:
            return .closeNotify
        default:
            return .failed(.readFailed(reason: drainOpenSSLErrors()))
        }
    }

    /// Encrypts all of `buffer`; with a memory BIO a write never stops half-way.
    func write(_ buffer: ByteBuffer) -> OpenSSLTLSError? {
        buffer.withUnsafeReadableBytes { bytes -> OpenSSLTLSError? in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
            ERR_clear_error()
            var written = 0
            if SSL_write_ex(ssl, base, bytes.count, &written) == 1, written == bytes.count { return nil }
            return .writeFailed(reason: drainOpenSSLErrors())
        }
    }

    /// Queues our close_notify. The return value (whether the peer's arrived) is not needed:
    /// the handler learns that from `read` returning `.closeNotify`.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    var pendingOutputBytes: Int { mg_BIO_pending(sslToNetwork) }

    func drainOutput(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var read = 0
        guard BIO_read_ex(sslToNetwork, base, buffer.count, &read) == 1 else { return 0 }
        return read
    }

    func handshakeSummary() -> TLSHandshakeCompleted {
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown"
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "unknown"
        var alpnPointer: UnsafePointer<UInt8>?
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpnPointer, &alpnLength)
        let alpn = alpnPointer.flatMap { pointer -> String? in
            alpnLength == 0 ? nil : String(decoding: UnsafeBufferPointer(start: pointer, count: Int(alpnLength)), as: UTF8.self)
        }
        var subject: String?
        var commonName: String?
        var serial: String?
        if let peer = SSL_get1_peer_certificate(ssl) {
            subject = x509Subject(peer)
            commonName = x509CommonName(peer)
            serial = x509Serial(peer)
            X509_free(peer)
        }
        return TLSHandshakeCompleted(
            protocolVersion: version, cipher: cipher, alpnProtocol: alpn,
            peerSubject: subject, peerCommonName: commonName, peerCertificateSerial: serial
        )
    }
}
