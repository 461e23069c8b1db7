import COpenSSLShims
import Foundation
import NIOCore

/// An immutable, configured OpenSSL `SSL_CTX`, shared by every connection created from it.
///
/// `@unchecked Sendable` is sound because the context is fully configured in `init` and never
/// mutated afterwards; OpenSSL documents `SSL_new` on a finished `SSL_CTX` as thread-safe
/// (the context is reference counted, so a connection keeps it alive after a reload drops it).
public final class OpenSSLContext: @unchecked Sendable {
    /// Which side of the handshake connections built from this context play.
    public enum Role: Sendable, Hashable { case server, client }

    let sslContext: OpaquePointer
    private let alpnList: OpaquePointer?
    /// The role this context was configured for.
    public let role: Role
    /// notAfter of the context's own leaf certificate, if it has one.
    public let certificateNotAfter: Date?
    /// Serial number (upper-case hex) of the context's own leaf certificate, if it has one.
    public let certificateSerial: String?
    /// RFC 2253 subject of the context's own leaf certificate, if it has one.
    public let certificateSubject: String?
    let handshakeTimeout: TimeAmount
    let shutdownTimeout: TimeAmount
    let maximumBufferedPlaintextBytes: Int
    let onHandshakeFailure: (@Sendable (OpenSSLTLSError) -> Void)?

    /// Builds a server context: loads the chain and key (and client CAs), checks they match.
    /// - Throws: `OpenSSLTLSError.invalidConfiguration` with OpenSSL's reason.
    public init(configuration: TLSServerConfiguration) throws {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw OpenSSLTLSError.invalidConfiguration(reason: drainOpenSSLErrors())
        }
        var alpn: OpaquePointer?
        do {
            try Self.applyCommon(ctx, minimumVersion: configuration.minimumVersion)
            _ = mg_SSL_CTX_set_options(ctx, mg_SSL_OP_CIPHER_SERVER_PREFERENCE)
            try Self.check(SSL_CTX_set_cipher_list(ctx, configuration.tls12CipherList), "cipher list")
            try Self.loadIdentity(ctx, chain: configuration.certificateChainFile, key: configuration.privateKeyFile)
            // Resumed sessions must be bound to this server's verification settings, or OpenSSL
            // refuses them ("session id context uninitialized") once client certs are verified.
            let sessionContext = Array("mtls-guard".utf8)
            _ = SSL_CTX_set_session_id_context(ctx, sessionContext, UInt32(sessionContext.count))
            switch configuration.clientCertificateVerification {
            case .none:
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
            case .optional, .require:
                guard let caFile = configuration.clientCAFile else {
                    throw OpenSSLTLSError.invalidConfiguration(reason: "client certificate verification needs clientCAFile")
                }
                try Self.check(SSL_CTX_load_verify_file(ctx, caFile), "client CA file \(caFile)")
                guard let names = SSL_load_client_CA_file(caFile) else {
                    throw OpenSSLTLSError.invalidConfiguration(reason: "client CA file \(caFile): \(drainOpenSSLErrors())")
                }
                SSL_CTX_set_client_CA_list(ctx, names)
                var mode = SSL_VERIFY_PEER
                if configuration.clientCertificateVerification == .require { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
                SSL_CTX_set_verify(ctx, mode, nil)
            }
            if !configuration.alpnProtocols.isEmpty {
                let wire = try Self.alpnWireFormat(configuration.alpnProtocols)
                guard let list = mg_tls_alpn_new(wire, UInt32(wire.count)) else {
                    throw OpenSSLTLSError.invalidConfiguration(reason: "out of memory for ALPN list")
                }
                alpn = list
                mg_tls_ctx_set_alpn_select(ctx, list)
            }
        } catch {
            SSL_CTX_free(ctx)
            if let alpn { mg_tls_alpn_free(alpn) }
            throw error
        }
        self.sslContext = ctx
        self.alpnList = alpn
        self.role = .server
        (self.certificateNotAfter, self.certificateSerial, self.certificateSubject) = Self.leafInfo(ctx)
        self.handshakeTimeout = configuration.handshakeTimeout
        self.shutdownTimeout = configuration.shutdownTimeout
        self.maximumBufferedPlaintextBytes = configuration.maximumBufferedPlaintextBytes
        self.onHandshakeFailure = configuration.onHandshakeFailure
    }

    /// Builds a client context: peer verification is always on; trust is the CA file or, when
    /// it is `nil`, the system store. The server name is given per connection.
    /// - Throws: `OpenSSLTLSError.invalidConfiguration` with OpenSSL's reason.
    public init(configuration: TLSClientConfiguration) throws {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw OpenSSLTLSError.invalidConfiguration(reason: drainOpenSSLErrors())
        }
        do {
            try Self.applyCommon(ctx, minimumVersion: configuration.minimumVersion)
            if let pem = configuration.trustedCAPEM {
                try Self.addTrustedCertificates(ctx, pem: pem)
            } else if let caFile = configuration.trustedCAFile {
                try Self.check(SSL_CTX_load_verify_file(ctx, caFile), "CA file \(caFile)")
            } else {
                try Self.check(SSL_CTX_set_default_verify_paths(ctx), "system trust store")
            }
            SSL_CTX_set_verify(ctx, configuration.verifiesPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
            switch (configuration.certificateChainPEM, configuration.privateKeyPEM) {
            case (let chain?, let key?):
                try Self.loadIdentity(ctx, chainPEM: chain, keyPEM: key)
            case (nil, nil):
                switch (configuration.certificateChainFile, configuration.privateKeyFile) {
                case (let chain?, let key?):
                    try Self.loadIdentity(ctx, chain: chain, key: key)
                case (nil, nil):
                    break
                default:
                    throw OpenSSLTLSError.invalidConfiguration(reason: "client certificate and key must be given together")
                }
            default:
                throw OpenSSLTLSError.invalidConfiguration(reason: "client certificate and key must be given together")
            }
            if !configuration.alpnProtocols.isEmpty {
                let wire = try Self.alpnWireFormat(configuration.alpnProtocols)
                // Inverted convention: 0 means success for this one call.
                guard SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0 else {
                    throw OpenSSLTLSError.invalidConfiguration(reason: "ALPN: \(drainOpenSSLErrors())")
                }
            }
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        self.sslContext = ctx
        self.alpnList = nil
        self.role = .client
        (self.certificateNotAfter, self.certificateSerial, self.certificateSubject) = Self.leafInfo(ctx)
        self.handshakeTimeout = configuration.handshakeTimeout
        self.shutdownTimeout = configuration.shutdownTimeout
        self.maximumBufferedPlaintextBytes = configuration.maximumBufferedPlaintextBytes
        self.onHandshakeFailure = nil
    }

    deinit {
        // Safe to free the ALPN list: every live connection keeps this object (not just the
        // SSL_CTX) alive, so no handshake can still read it.
        SSL_CTX_free(sslContext)
        if let alpnList { mg_tls_alpn_free(alpnList) }
    }

    private static func applyCommon(_ ctx: OpaquePointer, minimumVersion: TLSVersion) throws {
        try check(mg_SSL_CTX_set_min_proto_version(ctx, minimumVersion.openSSLValue), "minimum version")
        _ = mg_SSL_CTX_set_options(ctx, mg_SSL_OP_NO_RENEGOTIATION | mg_SSL_OP_NO_COMPRESSION)
    }

    private static func loadIdentity(_ ctx: OpaquePointer, chain: String, key: String) throws {
        try check(SSL_CTX_use_certificate_chain_file(ctx, chain), "certificate chain \(chain)")
        try check(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), "private key \(key)")
        try check(SSL_CTX_check_private_key(ctx), "certificate \(chain) does not match key \(key)")
    }

    /// Adds every certificate of a PEM bundle to the context's trust store.
    private static func addTrustedCertificates(_ ctx: OpaquePointer, pem: [UInt8]) throws {
        let certificates = try readCertificates(pem, what: "CA bundle")
        defer { certificates.forEach { X509_free($0) } }
        guard !certificates.isEmpty else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "CA bundle holds no PEM certificate")
        }
        guard let store = SSL_CTX_get_cert_store(ctx) else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "no certificate store: \(drainOpenSSLErrors())")
        }
        for certificate in certificates {
            try check(X509_STORE_add_cert(store, certificate), "CA bundle")
        }
    }

    /// Loads a client identity from memory: leaf first, then intermediates, and its key.
    private static func loadIdentity(_ ctx: OpaquePointer, chainPEM: [UInt8], keyPEM: [UInt8]) throws {
        let certificates = try readCertificates(chainPEM, what: "client certificate")
        defer { certificates.forEach { X509_free($0) } }
        guard let leaf = certificates.first else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "client certificate data holds no PEM certificate")
        }
        try check(SSL_CTX_use_certificate(ctx, leaf), "client certificate")
        for intermediate in certificates.dropFirst() {
            // SSL_CTX_add1_chain_cert is a macro: its SSL_CTX_ctrl form takes its own reference.
            guard SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, UnsafeMutableRawPointer(intermediate)) == 1 else {
                throw OpenSSLTLSError.invalidConfiguration(reason: "client certificate chain: \(drainOpenSSLErrors())")
            }
        }
        let key: OpaquePointer? = keyPEM.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key else {
            // OpenSSL's reason names the PEM problem, never the key's bytes.
            throw OpenSSLTLSError.invalidConfiguration(reason: "client key: \(drainOpenSSLErrors())")
        }
        defer { EVP_PKEY_free(key) }
        try check(SSL_CTX_use_PrivateKey(ctx, key), "client key")
        try check(SSL_CTX_check_private_key(ctx), "client certificate does not match its key")
    }

    /// Every CERTIFICATE block of a PEM buffer, in order; the caller frees them.
    private static func readCertificates(_ pem: [UInt8], what: String) throws -> [OpaquePointer] {
        var certificates: [OpaquePointer] = []
        pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return }
            defer { BIO_free(bio) }
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                certificates.append(certificate)
            }
        }
        // The loop ends on "no start line": expected, not an error.
        ERR_clear_error()
        return certificates
    }

    private static func check(_ result: Int32, _ what: String) throws {
        guard result == 1 else {
            throw OpenSSLTLSError.invalidConfiguration(reason: "\(what): \(drainOpenSSLErrors())")
        }
    }

    static func alpnWireFormat(_ protocols: [String]) throws -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw OpenSSLTLSError.invalidConfiguration(reason: "ALPN protocol name '\(name)' must be 1...255 bytes")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        return wire
    }

    private static func leafInfo(_ ctx: OpaquePointer) -> (Date?, String?, String?) {
        guard let cert = SSL_CTX_get0_certificate(ctx) else { return (nil, nil, nil) }
        return (x509NotAfter(cert), x509Serial(cert), x509Subject(cert))
    }
}

func x509NotAfter(_ cert: OpaquePointer) -> Date? {
    var seconds: Int64 = 0
    guard mg_tls_not_after(cert, &seconds) == 1 else { return nil }
    return Date(timeIntervalSince1970: TimeInterval(seconds))
}

func x509Serial(_ cert: OpaquePointer) -> String? {
    guard let hex = mg_tls_serial_hex(cert) else { return nil }
    defer { mg_OPENSSL_free(hex) }
    return String(cString: hex)
}

func x509Subject(_ cert: OpaquePointer) -> String? {
    guard let name = X509_get_subject_name(cert) else { return nil }
    return readCString { buffer, capacity in mg_tls_name_rfc2253(name, buffer, capacity) }
}

func x509CommonName(_ cert: OpaquePointer) -> String? {
    readCString { buffer, capacity in mg_tls_subject_cn(cert, buffer, capacity) }
}

/// Calls a C "write into buf, return needed length" function, retrying once with a large
/// enough buffer so long subjects are never cut.
private func readCString(_ fill: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> String? {
    var capacity = 512
    for _ in 0..<2 {
        var buffer = [CChar](repeating: 0, count: capacity)
        let needed = buffer.withUnsafeMutableBufferPointer { pointer -> Int32 in
            guard let base = pointer.baseAddress else { return -1 }
            return fill(base, pointer.count)
        }
        if needed < 0 { return nil }
        if Int(needed) < capacity {
            return buffer.withUnsafeBufferPointer { pointer in
                pointer.baseAddress.map { String(cString: $0) }
            }
        }
        capacity = Int(needed) + 1
    }
    return nil
}
