import COpenSSLShims
import Foundation

/// An unencrypted private key (RSA or EC), held as OpenSSL's `EVP_PKEY`.
///
/// Its description, debug description and mirror show only the algorithm, so that the key never
/// reaches a log line, an error message or a test failure report.
public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The algorithm and size, e.g. `EC P-256` or `RSA 2048`.
    public let algorithm: String
    /// The parsed key, kept rather than re-encoded: with OpenSSL 3 every encode and decode runs its
    /// provider lookups under locks, which made checking a TLS Secret's key cost three of them.
    private let key: EVPKeyReference

    /// Parses DER from a PEM block labelled `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY`.
    init(der: [UInt8], label: String) throws(CertificateError) {
        OpenSSLErrors.clear()
        let type: Int32?
        switch label {
        case "RSA PRIVATE KEY": type = EVP_PKEY_RSA
        case "EC PRIVATE KEY": type = EVP_PKEY_EC
        default: type = nil
        }
        let key = OpenSSLSupport.decode(der, with: { cursor, length in
            if let type { return d2i_PrivateKey(type, nil, cursor, length) }
            return d2i_AutoPrivateKey(nil, cursor, length)
        }, free: { EVP_PKEY_free($0) })
        guard let key else { throw CertificateError.openSSL(.invalidPrivateKey, "not a valid \(label)") }
        defer { EVP_PKEY_free(key) }
        try self.init(evpKey: key)
    }

    /// Copies an `EVP_PKEY` (the caller keeps ownership).
    init(evpKey key: OpaquePointer) throws(CertificateError) {
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA || EVP_PKEY_get_base_id(key) == EVP_PKEY_EC else {
            throw CertificateError(kind: .invalidPrivateKey, reason: "unsupported key type: only RSA and EC keys are supported")
        }
        guard EVP_PKEY_up_ref(key) == 1 else {
            throw CertificateError.openSSL(.invalidPrivateKey, "the private key cannot be referenced")
        }
        self.key = EVPKeyReference(key)
        self.algorithm = Self.algorithm(of: key)
        OpenSSLErrors.clear()
    }

    /// Whether this key is the private half of `certificate`'s public key (EVP_PKEY_eq).
    public func matches(_ certificate: Certificate) -> Bool {
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        guard let x509 = try? X509Handle(der: certificate.der) else { return false }
        defer { x509.free() }
        guard let publicKey = X509_get0_pubkey(x509.pointer) else { return false }
        return (try? withEVPKey { EVP_PKEY_eq(publicKey, $0) == 1 }) ?? false
    }

    /// The key as an unencrypted PKCS#8 `PRIVATE KEY` PEM block.
    public func pemEncoded() -> String {
        let pkcs8 = OpenSSLSupport.writingToMemory({ i2d_PKCS8PrivateKey_bio($0, key.pointer, nil, nil, 0, nil, nil) == 1 }) ?? []
        return OpenSSLSupport.pem(label: "PRIVATE KEY", der: pkcs8)
    }

    public var description: String { "PrivateKey(\(algorithm))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["algorithm": algorithm]) }

    /// Runs `body` with a temporary `EVP_PKEY` for this key.
    func withEVPKey<T>(_ body: (OpaquePointer) throws(CertificateError) -> T) throws(CertificateError) -> T {
        try body(key.pointer)
    }

    private static func algorithm(of key: OpaquePointer) -> String {
        let bits = EVP_PKEY_get_bits(key)
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC else { return "RSA \(bits)" }
        var name = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else { return "EC \(bits)" }
        let nid = OBJ_sn2nid(name)
        if nid != NID_undef, let nist = EC_curve_nid2nist(nid) { return "EC \(String(cString: nist))" }
        return "EC \(String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))"
    }
}

/// Owns one reference to an `EVP_PKEY`. `@unchecked Sendable`: the key is never changed after
/// parsing, and OpenSSL 3 allows concurrent read-only use of an `EVP_PKEY` (signing, comparing).
final class EVPKeyReference: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }
}
