import COpenSSLShims
import Foundation

/// An X.509 certificate revocation list, parsed by OpenSSL into plain values.
public struct CRL: Sendable, Hashable, CustomStringConvertible {
    /// The DER encoding.
    public let der: [UInt8]
    /// The issuer in one-line RFC 2253 form.
    public let issuer: String
    /// thisUpdate.
    public let lastUpdate: Date
    /// nextUpdate, when present.
    public let nextUpdate: Date?
    /// The number of revoked certificates listed.
    public let revokedCount: Int
    /// Serial numbers of the revoked certificates, upper-case hex.
    public let revokedSerialNumbersHex: [String]

    /// Parses DER; trailing bytes are an error.
    public init(derEncoded der: [UInt8]) throws(CertificateError) {
        OpenSSLErrors.clear()
        let crl = OpenSSLSupport.decode(der, with: { d2i_X509_CRL(nil, $0, $1) }, free: { X509_CRL_free($0) })
        guard let crl else { throw CertificateError.openSSL(.invalidCRL, "not a valid X.509 CRL") }
        defer { X509_CRL_free(crl) }
        guard let lastUpdate = OpenSSLSupport.date(X509_CRL_get0_lastUpdate(crl)) else {
            throw CertificateError.openSSL(.invalidCRL, "the CRL's lastUpdate cannot be read")
        }
        self.der = der
        self.issuer = OpenSSLSupport.rfc2253(X509_CRL_get_issuer(crl))
        self.lastUpdate = lastUpdate
        self.nextUpdate = OpenSSLSupport.date(X509_CRL_get0_nextUpdate(crl))
        var serials: [String] = []
        if let stack = X509_CRL_get_REVOKED(crl) {
            for index in 0..<OPENSSL_sk_num(stack) {
                guard let entry = OPENSSL_sk_value(stack, index) else { continue }
                serials.append(OpenSSLSupport.hex(X509_REVOKED_get0_serialNumber(OpaquePointer(entry))))
            }
        }
        self.revokedSerialNumbersHex = serials
        self.revokedCount = serials.count
        OpenSSLErrors.clear()
    }

    /// Whether the CRL's signature verifies with `issuer`'s public key.
    public func isSigned(by issuer: Certificate) -> Bool {
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        guard let crl = OpenSSLSupport.decode(der, with: { d2i_X509_CRL(nil, $0, $1) }, free: { X509_CRL_free($0) }) else { return false }
        defer { X509_CRL_free(crl) }
        guard let x509 = try? X509Handle(der: issuer.der) else { return false }
        defer { x509.free() }
        guard let key = X509_get0_pubkey(x509.pointer) else { return false }
        return X509_CRL_verify(crl, key) == 1
    }

    /// The CRL as a PEM `X509 CRL` block.
    public func pemEncoded() -> String { OpenSSLSupport.pem(label: "X509 CRL", der: der) }

    public var description: String { "CRL(issuer: \(issuer), revoked: \(revokedCount))" }
}
