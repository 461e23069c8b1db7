import Synchronization

/// Certificates parsed recently, by their DER encoding: a bounded, process-wide memo of
/// `Certificate(derEncoded:)`.
///
/// OpenSSL 3.0 spends about 85 µs decoding one RSA certificate (mostly building a decoder for its
/// public key), and the same certificates come back again and again: an UPDATE of a CA Secret
/// that keeps `ca.crt`, one CA in the Secrets of many namespaces, every background audit pass.
/// A hit costs one hash of the DER bytes. Only public certificates are kept (never keys), and
/// only successes: a certificate that fails to parse is parsed, and fails, again.
public final class CertificateCache: Sendable {
    /// Shared by the rules: at most 1,024 certificates and 4 MiB of DER.
    public static let shared = CertificateCache(maximumEntries: 1024, maximumBytes: 4 << 20)

    private struct Key: Hashable {
        let der: [UInt8]

        func hash(into hasher: inout Hasher) {
            // All bytes at once: Array's own hash combines them one by one.
            der.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    private struct State {
        var entries: [Key: Certificate] = [:]
        /// Keys oldest first; the oldest goes when the cache is full.
        var order: [Key] = []
        var bytes = 0
    }

    private let state = Mutex(State())
    private let maximumEntries: Int
    private let maximumBytes: Int

    public init(maximumEntries: Int, maximumBytes: Int) {
        self.maximumEntries = max(1, maximumEntries)
        self.maximumBytes = max(1, maximumBytes)
    }

    /// The certificate `der` encodes, parsed now or earlier.
    public func certificate(derEncoded der: [UInt8]) throws(CertificateError) -> Certificate {
        let key = Key(der: der)
        if let hit = state.withLock({ $0.entries[key] }) { return hit }
        let parsed = try Certificate(derEncoded: der)
        // A certificate larger than a sixteenth of the budget would push out many others.
        guard der.count <= maximumBytes / 16 else { return parsed }
        // A self-issued certificate holds OpenSSL's decoded copy (a few KB with its public key)
        // until its signature is checked (`isSelfSigned`); checked now, once, the copy is freed, and
        // what the cache holds is the DER and plain values that the byte budget accounts for.
        _ = parsed.isSelfSigned
        state.withLock { state in
            guard state.entries[key] == nil else { return }
            while !state.order.isEmpty, state.entries.count >= maximumEntries || state.bytes + der.count > maximumBytes {
                let oldest = state.order.removeFirst()
                state.entries[oldest] = nil
                state.bytes -= oldest.der.count
            }
            state.entries[key] = parsed
            state.order.append(key)
            state.bytes += der.count
        }
        return parsed
    }

    /// Certificates held, and their DER bytes.
    var usage: (entries: Int, bytes: Int) {
        state.withLock { ($0.entries.count, $0.bytes) }
    }
}
