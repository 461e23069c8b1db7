import COpenSSLShims

/// Why reading, checking or creating a certificate, key or CRL failed.
///
/// The description names the PEM block (1-based) and line when known, and carries OpenSSL's reason
/// text. It never contains key material or encoded bytes of the input.
public struct CertificateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The category of failure.
    public enum Kind: String, Sendable, Hashable {
        /// The input holds nothing but whitespace.
        case emptyInput
        /// Non-whitespace text outside BEGIN/END blocks.
        case strayText
        /// A BEGIN line without its END line, mismatched labels, or PEM headers where none are allowed.
        case malformedPEM
        /// The base64 body of a block does not decode.
        case malformedBase64
        /// A block of the wrong kind (for example `PRIVATE KEY` in a certificate bundle).
        case unexpectedBlockType
        /// A `CERTIFICATE` block that OpenSSL cannot parse as X.509.
        case invalidCertificate
        /// A key block that OpenSSL cannot parse, or an encrypted key.
        case invalidPrivateKey
        /// An `X509 CRL` block that OpenSSL cannot parse.
        case invalidCRL
        /// Chain building or verification failed.
        case verificationFailed
        /// A certificate request that cannot be honoured (bad SAN, bad serial, ...).
        case invalidRequest
        /// OpenSSL failed while generating a key or signing.
        case generationFailed
    }

    /// The category of failure.
    public let kind: Kind
    /// The 1-based index of the PEM block concerned, if any. For stray text: the block it follows (nil before the first).
    public let blockIndex: Int?
    /// The 1-based line of the input concerned, if known.
    public let line: Int?
    /// What went wrong: a sentence of ours, plus OpenSSL's reason text when it had one.
    public let reason: String

    /// Creates an error; `reason` must never contain key material.
    public init(kind: Kind, blockIndex: Int? = nil, line: Int? = nil, reason: String) {
        self.kind = kind
        self.blockIndex = blockIndex
        self.line = line
        self.reason = reason
    }

    public var description: String {
        var location: [String] = []
        if let blockIndex, kind != .strayText { location.append("PEM block \(blockIndex)") }
        if let line { location.append("line \(line)") }
        return location.isEmpty ? reason : "\(location.joined(separator: ", ")): \(reason)"
    }

    /// An error whose reason ends with the reasons OpenSSL queued on this thread (which are then cleared).
    static func openSSL(_ kind: Kind, blockIndex: Int? = nil, line: Int? = nil, _ message: String) -> CertificateError {
        let queued = OpenSSLErrors.drain()
        let reason = queued.isEmpty ? message : "\(message): \(queued.joined(separator: "; "))"
        return CertificateError(kind: kind, blockIndex: blockIndex, line: line, reason: reason)
    }
}

/// The per-thread OpenSSL error queue.
enum OpenSSLErrors {
    /// Empties the queue, returning the reason strings (library and reason only, never data).
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if let text = ERR_reason_error_string(code) {
                let reason = String(cString: text)
                if !reasons.contains(reason) { reasons.append(reason) }
            } else {
                reasons.append("error code \(code)")
            }
        }
        return reasons
    }

    /// Discards whatever an earlier call left behind so that it is not blamed on the next one.
    static func clear() { ERR_clear_error() }
}
