/// Fired as a user inbound event when the handshake completes, before any decrypted byte.
/// The peer fields are set only when the peer presented a certificate, which OpenSSL has then
/// verified (a server with `.none` client verification never asks for one).
public struct TLSHandshakeCompleted: Sendable, Hashable {
    /// OpenSSL's name of the version, e.g. "TLSv1.3".
    public let protocolVersion: String
    /// OpenSSL's name of the cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
    public let cipher: String
    /// The negotiated ALPN protocol, if any.
    public let alpnProtocol: String?
    /// The peer certificate's subject in RFC 2253 form, e.g. "CN=client,O=Example".
    public let peerSubject: String?
    /// The peer certificate's first common name.
    public let peerCommonName: String?
    /// The peer certificate's serial number as upper-case hex.
    public let peerCertificateSerial: String?
}
