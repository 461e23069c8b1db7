import Foundation

/// The key algorithm of a generated certificate.
public enum KeyType: Sendable, Hashable, CaseIterable {
    /// ECDSA on NIST P-256 (prime256v1).
    case ecdsaP256
    /// RSA with a 2048-bit modulus.
    case rsa2048
}

/// An extendedKeyUsage purpose of a generated leaf certificate.
public enum ExtendedKeyUsage: String, Sendable, Hashable, CaseIterable {
    /// TLS server authentication.
    case serverAuth
    /// TLS client authentication.
    case clientAuth
}

/// What to put in a generated certificate.
///
/// Key usage follows the role: a CA gets `keyCertSign, cRLSign`; a leaf gets `digitalSignature` (plus
/// `keyEncipherment` for RSA) and the `extendedKeyUsage` given (none for a CA).
public struct CertificateRequest: Sendable, Hashable {
    /// The subject's commonName.
    public var commonName: String
    /// The subject's organizationName, if any.
    public var organization: String?
    /// Subject alternative names: IP literals (v4 or v6) become IP entries, anything else a DNS entry.
    /// An explicit `DNS:`, `IP:`, `URI:` or `email:` prefix selects the type.
    public var sans: [String]
    /// Whether to issue a CA (basicConstraints `critical,CA:TRUE`).
    public var isCA: Bool
    /// The CA's pathlen; nil leaves it unset. Only for CAs.
    public var pathLength: Int?
    /// Start of validity.
    public var notBefore: Date
    /// End of validity.
    public var notAfter: Date
    /// The key algorithm of the new key.
    public var keyType: KeyType
    /// extendedKeyUsage of a leaf; ignored for CAs.
    public var extendedKeyUsage: [ExtendedKeyUsage]

    /// A request; validity defaults to five minutes ago (clock skew) until one year from now.
    public init(
        commonName: String,
        organization: String? = nil,
        sans: [String] = [],
        isCA: Bool = false,
        pathLength: Int? = nil,
        notBefore: Date = Date(timeIntervalSinceNow: -300),
        notAfter: Date = Date(timeIntervalSinceNow: 365 * 24 * 3600),
        keyType: KeyType = .ecdsaP256,
        extendedKeyUsage: [ExtendedKeyUsage] = [.serverAuth, .clientAuth]
    ) {
        self.commonName = commonName
        self.organization = organization
        self.sans = sans
        self.isCA = isCA
        self.pathLength = pathLength
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.keyType = keyType
        self.extendedKeyUsage = extendedKeyUsage
    }
}

/// A generated certificate with its private key.
public struct IssuedCertificate: Sendable, CustomStringConvertible {
    /// The certificate.
    public let certificate: Certificate
    /// Its private key.
    public let privateKey: PrivateKey

    /// Pairs a certificate with its key (not checked: see `PrivateKey.matches(_:)`).
    public init(certificate: Certificate, privateKey: PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The certificate as PEM.
    public var certificatePEM: String { certificate.pemEncoded() }
    /// The key as unencrypted PKCS#8 PEM.
    public var privateKeyPEM: String { privateKey.pemEncoded() }

    public var description: String { "IssuedCertificate(\(certificate), \(privateKey))" }
}
