import COpenSSLShims
import NIOCore

/// An error from the OpenSSL TLS layer. Cases that come from OpenSSL carry its reason text,
/// collected from the whole per-thread error queue (not only the first entry).
public enum OpenSSLTLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The handshake failed; `reason` is OpenSSL's text (and the certificate verify result).
    case handshakeFailed(reason: String)
    /// Decrypting received records failed after the handshake.
    case readFailed(reason: String)
    /// Encrypting application data failed.
    case writeFailed(reason: String)
    /// The peer did not finish the handshake in time.
    case handshakeTimeout(TimeAmount)
    /// The connection ended without a close_notify (truncation), or during the handshake.
    case uncleanShutdown
    /// More plaintext was written before the handshake completed than the configured cap.
    case bufferLimitExceeded(limit: Int)
    /// A certificate, key or CA file could not be loaded or did not fit together.
    case invalidConfiguration(reason: String)

    public var description: String {
        switch self {
        case .handshakeFailed(let reason): "TLS handshake failed: \(reason)"
        case .readFailed(let reason): "TLS read failed: \(reason)"
        case .writeFailed(let reason): "TLS write failed: \(reason)"
        case .handshakeTimeout(let timeout): "TLS handshake not completed within \(timeout)"
        case .uncleanShutdown: "TLS connection closed without close_notify"
        case .bufferLimitExceeded(let limit): "more than \(limit) bytes written before the TLS handshake completed"
        case .invalidConfiguration(let reason): "invalid TLS configuration: \(reason)"
        }
    }
}

/// Drains OpenSSL's per-thread error queue into one line. Draining matters as much as reading:
/// entries left behind would be blamed on the next connection served by this thread.
func drainOpenSSLErrors(fallback: String = "unknown OpenSSL error") -> String {
    var reasons: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        let text = buffer.withUnsafeMutableBufferPointer { pointer -> String in
            guard let base = pointer.baseAddress else { return "error \(code)" }
            ERR_error_string_n(code, base, pointer.count)
            return String(cString: base)
        }
        reasons.append(text)
    }
    return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
}
