import COpenSSLShims
import NIOCore

/// A TLS protocol version this layer can be limited to.
public enum TLSVersion: Sendable, Hashable {
    case tls12
    case tls13

    var openSSLValue: Int32 {
        switch self {
        case .tls12: mg_TLS1_2_VERSION
        case .tls13: mg_TLS1_3_VERSION
        }
    }
}

/// Whether a server asks for, and insists on, a client certificate.
public enum ClientCertificateVerification: Sendable, Hashable {
    /// No certificate is requested.
    case none
    /// A certificate is requested; if one is sent it must chain to the client CA file.
    case optional
    /// A certificate chaining to the client CA file is required to complete the handshake.
    case require
}

/// How a server-role TLS context is built. Paths are read when the context is created (and by
/// `TLSContextProvider` again on every change).
public struct TLSServerConfiguration: Sendable {
    /// PEM file: leaf certificate first, then intermediates.
    public var certificateChainFile: String
    /// PEM private key matching the leaf certificate.
    public var privateKeyFile: String
    /// Oldest version accepted; TLS 1.3 is always preferred when both sides support it.
    public var minimumVersion: TLSVersion = .tls12
    /// ALPN protocols in server preference order. A client offering none of them still connects,
    /// just without ALPN.
    public var alpnProtocols: [String] = ["http/1.1"]
    /// Client certificate policy; `.optional` and `.require` need `clientCAFile`.
    public var clientCertificateVerification: ClientCertificateVerification = .none
    /// PEM bundle of CAs trusted to sign client certificates.
    public var clientCAFile: String?
    /// TLS 1.2 cipher list (OpenSSL syntax); TLS 1.3 suites stay at OpenSSL's defaults.
    public var tls12CipherList: String =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// A connection that has not completed its handshake by then is closed with an error.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// How long a full close waits for the peer's close_notify before closing the socket anyway.
    public var shutdownTimeout: TimeAmount = .seconds(3)
    /// Cap on plaintext the application may write before the handshake completes.
    public var maximumBufferedPlaintextBytes: Int = 1 << 20
    /// Called once for every failed server handshake (bad bytes, verification failure, timeout,
    /// peer gone mid-handshake) on the connection's event loop, so keep it cheap: it exists
    /// for a metrics counter. A connection closed before sending any byte (a TCP probe) is not
    /// a handshake attempt and is not reported. The error is also fired down the pipeline.
    public var onHandshakeFailure: (@Sendable (OpenSSLTLSError) -> Void)?

    /// A server configuration with the defaults above.
    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}

/// How a client-role TLS context is built.
public struct TLSClientConfiguration: Sendable {
    /// PEM bundle of trusted CAs; `nil` means the system's default trust store.
    public var trustedCAFile: String?
    /// PEM bundle of trusted CAs held in memory (a kubeconfig's `certificate-authority-data`);
    /// used instead of `trustedCAFile` when set.
    public var trustedCAPEM: [UInt8]?
    /// `false` skips verification of the server's certificate (a kubeconfig's
    /// `insecure-skip-tls-verify`). Never the default.
    public var verifiesPeer = true
    /// Optional client certificate chain (PEM) presented when the server asks for one.
    public var certificateChainFile: String?
    /// Client certificate chain (PEM) held in memory; used instead of `certificateChainFile` when set.
    public var certificateChainPEM: [UInt8]?
    /// Private key (PEM) for `certificateChainPEM`, held in memory only until the context is built.
    public var privateKeyPEM: [UInt8]?
    /// Private key for `certificateChainFile`.
    public var privateKeyFile: String?
    /// Oldest version accepted.
    public var minimumVersion: TLSVersion = .tls12
    /// ALPN protocols offered; empty means no ALPN extension.
    public var alpnProtocols: [String] = []
    /// A connection that has not completed its handshake by then is closed with an error.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// How long a full close waits for the peer's close_notify.
    public var shutdownTimeout: TimeAmount = .seconds(3)
    /// Cap on plaintext the application may write before the handshake completes.
    public var maximumBufferedPlaintextBytes: Int = 1 << 20

    /// A client configuration trusting `trustedCAFile` (or the system store when `nil`).
    public init(trustedCAFile: String? = nil) {
        self.trustedCAFile = trustedCAFile
    }
}
