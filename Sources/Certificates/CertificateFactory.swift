import COpenSSL
import COpenSSLShims
import Foundation

/// Creates keys, certificates and CRLs with OpenSSL: random 128-bit serials, SHA-256 signatures,
/// subject and authority key identifiers. The results pass `openssl verify`.
public enum CertificateFactory {
    /// A new key and a self-signed certificate for it.
    public static func selfSigned(_ request: CertificateRequest) throws(CertificateError) -> IssuedCertificate {
        try validate(request)
        let key = try generateKey(request.keyType)
        defer { EVP_PKEY_free(key) }
        let der = try buildCertificate(request, subjectKey: key, issuer: nil, issuerKey: key)
        return IssuedCertificate(certificate: try Certificate(derEncoded: der), privateKey: try PrivateKey(evpKey: key))
    }

    /// A new key and a certificate for it signed by `issuer`, which must be a CA.
    public static func issue(_ request: CertificateRequest, by issuer: IssuedCertificate) throws(CertificateError) -> IssuedCertificate {
        try validate(request)
        guard issuer.certificate.isCA else {
            throw CertificateError(kind: .invalidRequest, reason: "the issuer \(issuer.certificate.subject) is not a CA")
        }
        let key = try generateKey(request.keyType)
        defer { EVP_PKEY_free(key) }
        let issuerCertificate = try X509Handle(der: issuer.certificate.der)
        defer { issuerCertificate.free() }
        let der = try issuer.privateKey.withEVPKey { (issuerKey) throws(CertificateError) in
            try buildCertificate(request, subjectKey: key, issuer: issuerCertificate.pointer, issuerKey: issuerKey)
        }
        return IssuedCertificate(certificate: try Certificate(derEncoded: der), privateKey: try PrivateKey(evpKey: key))
    }

    /// A v2 CRL signed by `issuer`, revoking `serials` (hex, `:` separators allowed) at `lastUpdate`. Returns PEM.
    public static func crl(
        issuer: IssuedCertificate, revoked serials: [String], lastUpdate: Date, nextUpdate: Date
    ) throws(CertificateError) -> String {
        OpenSSLErrors.clear()
        guard nextUpdate > lastUpdate else {
            throw CertificateError(kind: .invalidRequest, reason: "nextUpdate must be after lastUpdate")
        }
        let issuerCertificate = try X509Handle(der: issuer.certificate.der)
        defer { issuerCertificate.free() }
        guard let crl = X509_CRL_new() else { throw .openSSL(.generationFailed, "X509_CRL_new failed") }
        defer { X509_CRL_free(crl) }
        let thisUpdate = try time(lastUpdate)
        defer { ASN1_TIME_free(thisUpdate) }
        let next = try time(nextUpdate)
        defer { ASN1_TIME_free(next) }
        guard X509_CRL_set_version(crl, 1) == 1,
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuerCertificate.pointer)) == 1,
              X509_CRL_set1_lastUpdate(crl, thisUpdate) == 1,
              X509_CRL_set1_nextUpdate(crl, next) == 1
        else { throw .openSSL(.generationFailed, "cannot set the CRL's fields") }
        for serial in serials {
            let integer = try asn1Integer(hex: serial)
            defer { ASN1_INTEGER_free(integer) }
            guard let entry = X509_REVOKED_new() else { throw .openSSL(.generationFailed, "X509_REVOKED_new failed") }
            guard X509_REVOKED_set_serialNumber(entry, integer) == 1,
                  X509_REVOKED_set_revocationDate(entry, thisUpdate) == 1,
                  X509_CRL_add0_revoked(crl, entry) == 1
            else {
                X509_REVOKED_free(entry)
                throw .openSSL(.generationFailed, "cannot add a revoked entry")
            }
        }
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuerCertificate.pointer, nil, nil, crl, 0)
        let keyIdentifier = hasSubjectKeyIdentifier(issuerCertificate.pointer) ? "keyid:always" : "issuer:always"
        guard let extensionPointer = X509V3_EXT_conf_nid(nil, &context, NID_authority_key_identifier, keyIdentifier) else {
            throw .openSSL(.generationFailed, "cannot build authorityKeyIdentifier")
        }
        defer { X509_EXTENSION_free(extensionPointer) }
        guard X509_CRL_add_ext(crl, extensionPointer, -1) == 1 else { throw .openSSL(.generationFailed, "cannot add authorityKeyIdentifier") }
        let number = try randomSerial()
        defer { ASN1_INTEGER_free(number) }
        guard X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) == 1 else { throw .openSSL(.generationFailed, "cannot add crlNumber") }
        guard X509_CRL_sort(crl) == 1 else { throw .openSSL(.generationFailed, "cannot sort the CRL") }
        let signed = try issuer.privateKey.withEVPKey { (key) throws(CertificateError) -> Int32 in X509_CRL_sign(crl, key, EVP_sha256()) }
        guard signed > 0, let der = OpenSSLSupport.encode({ i2d_X509_CRL(crl, $0) }) else {
            throw .openSSL(.generationFailed, "cannot sign the CRL")
        }
        OpenSSLErrors.clear()
        return OpenSSLSupport.pem(label: "X509 CRL", der: der)
    }

    // MARK: - Building blocks

    private static func validate(_ request: CertificateRequest) throws(CertificateError) {
        guard !request.commonName.isEmpty, !request.commonName.utf8.contains(0) else {
            throw CertificateError(kind: .invalidRequest, reason: "the commonName must be non-empty")
        }
        guard request.notAfter > request.notBefore else {
            throw CertificateError(kind: .invalidRequest, reason: "notAfter must be after notBefore")
        }
        if let pathLength = request.pathLength {
            guard request.isCA else { throw CertificateError(kind: .invalidRequest, reason: "pathLength is only allowed on a CA") }
            guard pathLength >= 0 else { throw CertificateError(kind: .invalidRequest, reason: "pathLength must be >= 0") }
        }
    }

    /// A new key (EVP_PKEY_generate); the caller frees it.
    static func generateKey(_ type: KeyType) throws(CertificateError) -> OpaquePointer {
        OpenSSLErrors.clear()
        let algorithm = type == .ecdsaP256 ? "EC" : "RSA"
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw .openSSL(.generationFailed, "no \(algorithm) key generator")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .openSSL(.generationFailed, "cannot start \(algorithm) key generation") }
        let configured: Int32
        switch type {
        case .ecdsaP256: configured = EVP_PKEY_CTX_set_group_name(context, "P-256")
        case .rsa2048: configured = EVP_PKEY_CTX_set_rsa_keygen_bits(context, 2048)
        }
        guard configured == 1 else { throw .openSSL(.generationFailed, "cannot configure \(algorithm) key generation") }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw .openSSL(.generationFailed, "\(algorithm) key generation failed") }
        return key
    }

    private static func buildCertificate(
        _ request: CertificateRequest, subjectKey: OpaquePointer, issuer: OpaquePointer?, issuerKey: OpaquePointer
    ) throws(CertificateError) -> [UInt8] {
        OpenSSLErrors.clear()
        guard let x509 = X509_new() else { throw .openSSL(.generationFailed, "X509_new failed") }
        defer { X509_free(x509) }
        let serial = try randomSerial()
        defer { ASN1_INTEGER_free(serial) }
        let name = try subjectName(request)
        defer { X509_NAME_free(name) }
        let notBefore = try time(request.notBefore)
        defer { ASN1_TIME_free(notBefore) }
        let notAfter = try time(request.notAfter)
        defer { ASN1_TIME_free(notAfter) }
        guard X509_set_version(x509, Int(X509_VERSION_3)) == 1,
              X509_set_serialNumber(x509, serial) == 1,
              X509_set_subject_name(x509, name) == 1,
              X509_set_issuer_name(x509, issuer.map { X509_get_subject_name($0) } ?? name) == 1,
              X509_set1_notBefore(x509, notBefore) == 1,
              X509_set1_notAfter(x509, notAfter) == 1,
              X509_set_pubkey(x509, subjectKey) == 1
        else { throw .openSSL(.generationFailed, "cannot set the certificate's fields") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? x509, x509, nil, nil, 0)
        func add(_ nid: Int32, _ value: String) throws(CertificateError) {
            guard let extensionPointer = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw .openSSL(.generationFailed, "cannot build extension \(String(cString: OBJ_nid2sn(nid)))")
            }
            defer { X509_EXTENSION_free(extensionPointer) }
            guard X509_add_ext(x509, extensionPointer, -1) == 1 else { throw .openSSL(.generationFailed, "cannot add an extension") }
        }
        if request.isCA {
            try add(NID_basic_constraints, "critical,CA:TRUE" + (request.pathLength.map { ",pathlen:\($0)" } ?? ""))
            try add(NID_key_usage, "critical,keyCertSign,cRLSign")
        } else {
            try add(NID_basic_constraints, "critical,CA:FALSE")
            try add(NID_key_usage, request.keyType == .rsa2048 ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature")
            let purposes = request.extendedKeyUsage.reduce(into: [String]()) { list, usage in
                if !list.contains(usage.rawValue) { list.append(usage.rawValue) }
            }
            if !purposes.isEmpty { try add(NID_ext_key_usage, purposes.joined(separator: ",")) }
        }
        // The subject key identifier must exist before the authority key identifier of a self-signed
        // certificate, which OpenSSL copies from it.
        try add(NID_subject_key_identifier, "hash")
        try add(NID_authority_key_identifier, hasSubjectKeyIdentifier(issuer ?? x509) ? "keyid:always" : "keyid,issuer:always")
        if !request.sans.isEmpty { try addAlternativeNames(request.sans, to: x509) }

        guard X509_sign(x509, issuerKey, EVP_sha256()) > 0 else { throw .openSSL(.generationFailed, "signing failed") }
        guard let der = OpenSSLSupport.encode({ i2d_X509(x509, $0) }) else { throw .openSSL(.generationFailed, "cannot encode the certificate") }
        OpenSSLErrors.clear()
        return der
    }

    private static func hasSubjectKeyIdentifier(_ x509: OpaquePointer) -> Bool {
        X509_get_ext_by_NID(x509, NID_subject_key_identifier, -1) >= 0
    }

    private static func subjectName(_ request: CertificateRequest) throws(CertificateError) -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw .openSSL(.generationFailed, "X509_NAME_new failed") }
        let entries: [(Int32, String)] = [(NID_organizationName, request.organization), (NID_commonName, request.commonName)]
            .compactMap { nid, value in value.map { (nid, $0) } }
        for (nid, value) in entries {
            let bytes = Array(value.utf8)
            guard X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0) == 1 else {
                X509_NAME_free(name)
                throw .openSSL(.invalidRequest, "the subject field \(String(cString: OBJ_nid2sn(nid))) is not acceptable")
            }
        }
        return name
    }

    /// Adds subjectAltName built entry by entry, so that no input is ever parsed as OpenSSL config syntax.
    private static func addAlternativeNames(_ sans: [String], to x509: OpaquePointer) throws(CertificateError) {
        guard let names = GENERAL_NAMES_new() else { throw .openSSL(.generationFailed, "GENERAL_NAMES_new failed") }
        defer { GENERAL_NAMES_free(names) }
        for san in sans {
            let (type, value) = classify(san)
            guard !value.isEmpty, !value.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ",") }) else {
                throw CertificateError(kind: .invalidRequest, reason: "invalid subject alternative name \"\(san)\"")
            }
            guard let name = a2i_GENERAL_NAME(nil, nil, nil, type, value, 0) else {
                throw .openSSL(.invalidRequest, "invalid subject alternative name \"\(san)\"")
            }
            guard OPENSSL_sk_push(names, UnsafeRawPointer(name)) > 0 else {
                GENERAL_NAME_free(name)
                throw .openSSL(.generationFailed, "out of memory")
            }
        }
        guard X509_add1_ext_i2d(x509, NID_subject_alt_name, UnsafeMutableRawPointer(names), 0, UInt(X509V3_ADD_DEFAULT)) == 1 else {
            throw .openSSL(.generationFailed, "cannot add subjectAltName")
        }
    }

    private static func classify(_ san: String) -> (Int32, String) {
        for (prefix, type) in [("DNS:", GEN_DNS), ("IP:", GEN_IPADD), ("URI:", GEN_URI), ("email:", GEN_EMAIL)] where san.hasPrefix(prefix) {
            return (type, String(san.dropFirst(prefix.count)))
        }
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, san, &buffer) == 1 || inet_pton(AF_INET6, san, &buffer) == 1 { return (GEN_IPADD, san) }
        return (GEN_DNS, san)
    }

    /// A positive random 128-bit serial (RAND_bytes), top bits fixed so that it always encodes in 16 bytes.
    private static func randomSerial() throws(CertificateError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw .openSSL(.generationFailed, "RAND_bytes failed") }
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw .openSSL(.generationFailed, "BN_bin2bn failed") }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw .openSSL(.generationFailed, "BN_to_ASN1_INTEGER failed") }
        return integer
    }

    private static func asn1Integer(hex: String) throws(CertificateError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        var digits = hex.filter { $0 != ":" && !$0.isWhitespace }
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits.removeFirst(2) }
        guard !digits.isEmpty, digits.count <= 80, digits.allSatisfy(\.isHexDigit) else {
            throw CertificateError(kind: .invalidRequest, reason: "invalid serial number \"\(hex)\": expected hex digits")
        }
        var number: OpaquePointer?
        guard BN_hex2bn(&number, digits) == Int32(digits.count), let number else {
            throw .openSSL(.invalidRequest, "invalid serial number \"\(hex)\"")
        }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw .openSSL(.generationFailed, "BN_to_ASN1_INTEGER failed") }
        return integer
    }

    private static func time(_ date: Date) throws(CertificateError) -> UnsafeMutablePointer<ASN1_TIME> {
        guard let time = ASN1_TIME_set(nil, time_t(date.timeIntervalSince1970.rounded(.down))) else {
            throw .openSSL(.invalidRequest, "the date \(date) cannot be encoded")
        }
        return time
    }
}
