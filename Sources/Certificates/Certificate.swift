import COpenSSLShims
import Foundation

/// An X.509 certificate, parsed once by OpenSSL into plain values.
///
/// Equality and hashing use the DER encoding: every other property is derived from it.
public struct Certificate: Sendable, Hashable, CustomStringConvertible {
    /// The DER encoding.
    public let der: [UInt8]
    /// The subject in one-line RFC 2253 form, e.g. `CN=client-ca,O=Example`.
    public let subject: String
    /// The issuer in one-line RFC 2253 form.
    public let issuer: String
    /// The first commonName of the subject, if any.
    public let commonName: String?
    /// The serial number in upper-case hex, as `openssl x509 -serial` prints it.
    public let serialNumberHex: String
    /// Start of the validity period.
    public let notBefore: Date
    /// End of the validity period.
    public let notAfter: Date
    /// Whether basicConstraints says `CA:TRUE`.
    public let isCA: Bool
    /// The basicConstraints pathlen of a CA; nil when unset (or not a CA).
    public let pathLengthConstraint: Int?
    /// Subject alternative names: `DNS:foo`, `IP:1.2.3.4`, `URI:...`, `email:...`; at most
    /// `maximumAlternativeNames` of them (see `subjectAlternativeNameCount`).
    public let subjectAlternativeNames: [String]
    /// How many names the subjectAltName extension holds, kept or not.
    public let subjectAlternativeNameCount: Int
    /// The most subject alternative names read into `subjectAlternativeNames`: a certificate may carry
    /// any number, and nothing here needs more than a few to describe it.
    public static let maximumAlternativeNames = 1024
    /// Subject equals issuer and the signature verifies with the certificate's own key.
    ///
    /// The signature is verified on first use (once per certificate, whatever the copies): an RSA
    /// verification costs about a fifth of the parse, and most readers never ask. A certificate entering
    /// `CertificateCache` is checked on entry, so the cache holds no decoded OpenSSL copy outside its byte
    /// budget; that is one verification per distinct certificate per process.
    public var isSelfSigned: Bool { selfSignature.isSelfSigned }
    private let selfSignature: SelfSignatureCheck

    /// Parses DER; trailing bytes after the certificate are an error.
    public init(derEncoded der: [UInt8]) throws(CertificateError) {
        OpenSSLErrors.clear()
        let x509 = try X509Handle(der: der)
        defer { x509.free() }
        let pointer = x509.pointer
        let subjectName = X509_get_subject_name(pointer)
        let issuerName = X509_get_issuer_name(pointer)
        guard let notBefore = OpenSSLSupport.date(X509_get0_notBefore(pointer)),
              let notAfter = OpenSSLSupport.date(X509_get0_notAfter(pointer))
        else {
            throw CertificateError.openSSL(.invalidCertificate, "the certificate's validity dates cannot be read")
        }
        self.der = der
        self.subject = OpenSSLSupport.rfc2253(subjectName)
        self.issuer = OpenSSLSupport.rfc2253(issuerName)
        self.commonName = OpenSSLSupport.firstEntry(NID_commonName, in: subjectName)
        self.serialNumberHex = OpenSSLSupport.hex(X509_get0_serialNumber(pointer))
        self.notBefore = notBefore
        self.notAfter = notAfter
        let constraints = Self.basicConstraints(pointer)
        self.isCA = constraints.isCA
        self.pathLengthConstraint = constraints.isCA ? constraints.pathLength : nil
        (self.subjectAlternativeNames, self.subjectAlternativeNameCount) = Self.alternativeNames(pointer)
        self.selfSignature = X509_NAME_cmp(subjectName, issuerName) == 0 ? SelfSignatureCheck(pending: pointer) : .notSelfIssued
        OpenSSLErrors.clear()
    }

    /// The certificate as a PEM `CERTIFICATE` block.
    public func pemEncoded() -> String { OpenSSLSupport.pem(label: "CERTIFICATE", der: der) }

    /// Whether `date` lies within notBefore...notAfter.
    public func isValid(at date: Date) -> Bool { notBefore <= date && date <= notAfter }

    public var description: String { "Certificate(subject: \(subject), serial: \(serialNumberHex))" }

    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.der == rhs.der }
    public func hash(into hasher: inout Hasher) { hasher.combine(der) }

    private static func basicConstraints(_ x509: OpaquePointer) -> (isCA: Bool, pathLength: Int?) {
        var critical: Int32 = 0
        guard let raw = X509_get_ext_d2i(x509, NID_basic_constraints, &critical, nil) else { return (false, nil) }
        let constraints = raw.assumingMemoryBound(to: BASIC_CONSTRAINTS.self)
        defer { BASIC_CONSTRAINTS_free(constraints) }
        let isCA = constraints.pointee.ca != 0
        guard let pathLength = constraints.pointee.pathlen else { return (isCA, nil) }
        let value = ASN1_INTEGER_get(pathLength)
        return (isCA, value >= 0 ? Int(value) : nil)
    }

    private static func alternativeNames(_ x509: OpaquePointer) -> ([String], Int) {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return ([], 0) }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [String] = []
        let count = Int(mg_sk_GENERAL_NAME_num(names))
        for index in 0..<Int32(clamping: min(count, maximumAlternativeNames)) {
            guard let name = mg_sk_GENERAL_NAME_value(names, index) else { continue }
            switch name.pointee.type {
            case GEN_DNS: result.append("DNS:" + string(name.pointee.d.dNSName))
            case GEN_URI: result.append("URI:" + string(name.pointee.d.uniformResourceIdentifier))
            case GEN_EMAIL: result.append("email:" + string(name.pointee.d.rfc822Name))
            case GEN_IPADD:
                if let address = ipAddress(name.pointee.d.iPAddress) { result.append("IP:" + address) }
            default: continue
            }
        }
        return (result, count)
    }

    private static func string(_ value: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        guard let value, let data = ASN1_STRING_get0_data(value) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(value))), as: UTF8.self)
    }

    private static func ipAddress(_ value: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        guard let value, let data = ASN1_STRING_get0_data(value) else { return nil }
        let bytes = Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(value))))
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) } != nil
        guard ok else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The lazily computed `Certificate.isSelfSigned` of a self-issued certificate, shared by the copies of the value.
///
/// Holds a reference to the parsed `X509` until the first question, so that answering needs no second parse;
/// then drops it. The lock serializes OpenSSL's use of that `X509` (verification fills its caches).
private final class SelfSignatureCheck: @unchecked Sendable {
    /// For certificates whose subject differs from their issuer: never self-signed, nothing to verify.
    static let notSelfIssued = SelfSignatureCheck()

    private let lock = NSLock()
    private var pending: OpaquePointer?
    private var result: Bool

    private init() {
        pending = nil
        result = false
    }

    /// Takes a reference to `x509` (the caller keeps and frees its own); verifies at once if OpenSSL cannot
    /// add the reference.
    init(pending x509: OpaquePointer) {
        if X509_up_ref(x509) == 1 {
            pending = x509
            result = false
        } else {
            pending = nil
            result = Self.verifiesWithOwnKey(x509)
        }
    }

    var isSelfSigned: Bool {
        lock.withLock {
            guard let x509 = pending else { return result }
            result = Self.verifiesWithOwnKey(x509)
            X509_free(x509)
            pending = nil
            return result
        }
    }

    private static func verifiesWithOwnKey(_ x509: OpaquePointer) -> Bool {
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        guard let key = X509_get0_pubkey(x509) else { return false }
        return X509_verify(x509, key) == 1
    }

    deinit {
        if let pending { X509_free(pending) }
    }
}

/// An owned `X509*`, freed explicitly by its user (it never escapes a function).
struct X509Handle {
    let pointer: OpaquePointer

    init(der: [UInt8]) throws(CertificateError) {
        guard let pointer = OpenSSLSupport.decode(der, with: { d2i_X509(nil, $0, $1) }, free: { X509_free($0) }) else {
            throw CertificateError.openSSL(.invalidCertificate, "not a valid X.509 certificate")
        }
        self.pointer = pointer
    }

    func free() { X509_free(pointer) }
}
