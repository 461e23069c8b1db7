import COpenSSLShims
import Foundation

/// Chain building and verification with OpenSSL's X509_STORE / X509_STORE_CTX, as NGINX does it.
public enum ChainAnalysis {
    /// For a CA bundle (`ca.crt`): the number N of intermediate CAs between a client certificate issued by the
    /// deepest CA of the bundle and the self-signed root.
    ///
    /// Each CA of the bundle is verified by OpenSSL with the bundle's self-signed certificates as trust anchors
    /// and the rest as untrusted intermediates (validity dates are ignored: this is about shape, not time);
    /// N is the longest built chain's length minus one. nil when no chain to a self-signed root of the bundle
    /// can be built.
    public static func intermediatesBelowRoot(bundle: [Certificate]) -> Int? {
        let anchors = bundle.filter(\.isSelfSigned)
        guard !anchors.isEmpty else { return nil }
        let untrusted = bundle.filter { !$0.isSelfSigned }
        // Only the CAs that issued no other CA of the bundle can end a longest chain; the others' chains are
        // prefixes of theirs. Verifying just those, against one store built once, keeps a long chain linear
        // instead of re-parsing and re-verifying the bundle once per CA.
        let issuersOfCAs = Set(untrusted.filter(\.isCA).map(\.issuer))
        var candidates = untrusted.filter { $0.isCA && !issuersOfCAs.contains($0.subject) }
        // CAs that certify each other (cross-signing) leave no such CA: verify them all then.
        if candidates.isEmpty { candidates = untrusted.filter(\.isCA) }
        guard let verifier = try? ChainVerifier(trustAnchors: anchors, untrusted: untrusted) else { return nil }
        defer { verifier.free() }
        // A self-signed anchor is a chain of its own: no intermediates.
        var deepest = 0
        for candidate in candidates.prefix(maximumAnalysedCAs) {
            if let length = verifier.chainLength(candidate) {
                deepest = max(deepest, length - 1)
            }
        }
        return deepest
    }

    /// The most CAs `intermediatesBelowRoot` verifies: deeper than OpenSSL's own depth limit (100).
    public static let maximumAnalysedCAs = 128

    /// Verifies `leaf` up to a root in `trustAnchors`, with `untrusted` as candidate intermediates.
    ///
    /// - Parameters:
    ///   - at: the verification time; nil means now.
    ///   - maxDepth: OpenSSL's verify depth (`openssl verify -verify_depth`, NGINX `ssl_verify_depth`): at most
    ///     this many intermediates besides the trust anchor. nil leaves OpenSSL's default (100).
    /// - Returns: the chain built, leaf first, ending with the trust anchor; or a `.verificationFailed` error
    ///   whose reason is OpenSSL's verify error string, the depth, and the subject of the certificate concerned.
    public static func verify(
        _ leaf: Certificate, trustAnchors: [Certificate], untrusted: [Certificate], at: Date?, maxDepth: Int?
    ) -> Result<[Certificate], CertificateError> {
        buildChain(leaf, trustAnchors: trustAnchors, untrusted: untrusted, at: at, maxDepth: maxDepth)
    }

    private static func buildChain(
        _ leaf: Certificate, trustAnchors: [Certificate], untrusted: [Certificate],
        at date: Date?, maxDepth: Int?
    ) -> Result<[Certificate], CertificateError> {
        if let maxDepth, maxDepth < 0 {
            return .failure(CertificateError(kind: .invalidRequest, reason: "verify depth must be >= 0, got \(maxDepth)"))
        }
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        var handles: [X509Handle] = []
        defer { handles.forEach { $0.free() } }
        func load(_ certificate: Certificate) throws(CertificateError) -> OpaquePointer {
            let handle = try X509Handle(der: certificate.der)
            handles.append(handle)
            return handle.pointer
        }
        guard let store = X509_STORE_new() else { return .failure(.openSSL(.verificationFailed, "X509_STORE_new failed")) }
        defer { X509_STORE_free(store) }
        guard let stack = OPENSSL_sk_new_null() else { return .failure(.openSSL(.verificationFailed, "out of memory")) }
        // The stack does not own its certificates: `handles` frees them after the context is gone.
        defer { OPENSSL_sk_free(stack) }
        guard let context = X509_STORE_CTX_new() else { return .failure(.openSSL(.verificationFailed, "X509_STORE_CTX_new failed")) }
        defer { X509_STORE_CTX_free(context) }
        let leafPointer: OpaquePointer
        do {
            for anchor in trustAnchors where X509_STORE_add_cert(store, try load(anchor)) != 1 {
                return .failure(.openSSL(.verificationFailed, "cannot add trust anchor \(anchor.subject)"))
            }
            for intermediate in untrusted where OPENSSL_sk_push(stack, UnsafeRawPointer(try load(intermediate))) <= 0 {
                return .failure(.openSSL(.verificationFailed, "out of memory"))
            }
            leafPointer = try load(leaf)
        } catch {
            return .failure(error)
        }
        guard X509_STORE_CTX_init(context, store, leafPointer, stack) == 1 else {
            return .failure(.openSSL(.verificationFailed, "X509_STORE_CTX_init failed"))
        }
        if let date { X509_STORE_CTX_set_time(context, 0, time_t(date.timeIntervalSince1970.rounded(.down))) }
        if let maxDepth { X509_STORE_CTX_set_depth(context, Int32(clamping: maxDepth)) }

        guard X509_verify_cert(context) == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            let depth = X509_STORE_CTX_get_error_depth(context)
            let message = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "verify error \(code)"
            var reason = "\(message) (depth \(depth)"
            if let current = X509_STORE_CTX_get_current_cert(context) {
                reason += ", \(OpenSSLSupport.rfc2253(X509_get_subject_name(current)))"
            }
            return .failure(CertificateError(kind: .verificationFailed, reason: reason + ")"))
        }
        guard let built = X509_STORE_CTX_get0_chain(context) else {
            return .failure(.openSSL(.verificationFailed, "no chain was built"))
        }
        var chain: [Certificate] = []
        for index in 0..<mg_sk_X509_num(built) {
            guard let x509 = mg_sk_X509_value(built, index),
                  let der = OpenSSLSupport.encode({ i2d_X509(x509, $0) }),
                  let certificate = try? Certificate(derEncoded: der)
            else {
                return .failure(.openSSL(.verificationFailed, "the built chain cannot be read back"))
            }
            chain.append(certificate)
        }
        return .success(chain)
    }
}

/// One X509_STORE of trust anchors and one stack of untrusted intermediates, parsed once and used to
/// verify many candidates (validity dates ignored: `intermediatesBelowRoot` is about shape).
private struct ChainVerifier {
    private var handles: [X509Handle] = []
    private let store: OpaquePointer
    private let stack: OpaquePointer

    init(trustAnchors: [Certificate], untrusted: [Certificate]) throws(CertificateError) {
        guard let store = X509_STORE_new() else { throw .openSSL(.verificationFailed, "X509_STORE_new failed") }
        guard let stack = OPENSSL_sk_new_null() else {
            X509_STORE_free(store)
            throw .openSSL(.verificationFailed, "out of memory")
        }
        self.store = store
        self.stack = stack
        do throws(CertificateError) {
            for anchor in trustAnchors {
                let handle = try X509Handle(der: anchor.der)
                handles.append(handle)
                guard X509_STORE_add_cert(store, handle.pointer) == 1 else {
                    throw CertificateError.openSSL(.verificationFailed, "cannot add trust anchor \(anchor.subject)")
                }
            }
            for intermediate in untrusted {
                let handle = try X509Handle(der: intermediate.der)
                handles.append(handle)
                guard OPENSSL_sk_push(stack, UnsafeRawPointer(handle.pointer)) > 0 else {
                    throw CertificateError.openSSL(.verificationFailed, "out of memory")
                }
            }
        } catch {
            free()
            throw error
        }
    }

    /// The length of the chain OpenSSL builds from `leaf`, or nil when none verifies.
    func chainLength(_ leaf: Certificate) -> Int? {
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        guard let leafHandle = try? X509Handle(der: leaf.der) else { return nil }
        defer { leafHandle.free() }
        guard let context = X509_STORE_CTX_new() else { return nil }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, leafHandle.pointer, stack) == 1 else { return nil }
        X509_STORE_CTX_set_flags(context, UInt(X509_V_FLAG_NO_CHECK_TIME))
        guard X509_verify_cert(context) == 1, let built = X509_STORE_CTX_get0_chain(context) else { return nil }
        return Int(mg_sk_X509_num(built))
    }

    /// The stack does not own its certificates: the handles are freed after it.
    func free() {
        OPENSSL_sk_free(stack)
        X509_STORE_free(store)
        handles.forEach { $0.free() }
    }
}

/// OpenSSL cipher strings (NGINX `ssl_ciphers`, `proxy_ssl_ciphers`).
public enum CipherList {
    /// True when OpenSSL (`SSL_CTX_set_cipher_list` on a TLS client context) accepts the string and selects at
    /// least one TLS 1.2-or-earlier cipher, as NGINX needs for the configuration to load.
    public static func selectsAnyCipher(_ cipherString: String) -> Bool {
        guard !cipherString.isEmpty, !cipherString.utf8.contains(0) else { return false }
        OpenSSLErrors.clear()
        defer { OpenSSLErrors.clear() }
        guard let context = SSL_CTX_new(TLS_client_method()) else { return false }
        defer { SSL_CTX_free(context) }
        return SSL_CTX_set_cipher_list(context, cipherString) == 1
    }
}
