import COpenSSLShims
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Hands out the current server `OpenSSLContext` and replaces it when the certificate, key or
/// client-CA files change on disk (Kubernetes Secret mounts, cert-manager rotations).
///
/// New connections get the new context; open connections keep the one they started with
/// (never reload into a live `SSL_CTX`). A rotation that is only half written (cert-manager
/// writes the certificate before the key, so they briefly do not match) keeps the old context,
/// is logged once, and is retried as soon as any of the files changes again.
/// Change detection compares file contents, which are small, so a rewrite within the same
/// second or of the same size is still seen.
public final class TLSContextProvider: Sendable {
    private struct Loaded {
        var context: OpenSSLContext
        var fingerprint: [[UInt8]?]
        var failedFingerprint: [[UInt8]?]?
        var reloadCount: Int
    }

    /// The configuration every context is built from; its files are the ones watched.
    public let configuration: TLSServerConfiguration
    private let logger: Logger
    private let loaded: NIOLockedValueBox<Loaded>
    /// Serialises reload attempts so two pollers never build the same context twice.
    private let reloadLock = NIOLock()
    private let watcher = NIOLockedValueBox<RepeatedTask?>(nil)

    /// Loads the initial context; failing here is a start-up error, not something to retry.
    /// - Throws: `OpenSSLTLSError.invalidConfiguration`.
    public init(configuration: TLSServerConfiguration, logger: Logger = Logger(label: "mtls-guard.tls")) throws {
        self.configuration = configuration
        self.logger = logger
        let fingerprint = Self.fingerprint(of: configuration)
        let context = try OpenSSLContext(configuration: configuration)
        self.loaded = NIOLockedValueBox(Loaded(context: context, fingerprint: fingerprint, failedFingerprint: nil, reloadCount: 0))
    }

    deinit {
        watcher.withLockedValue { $0?.cancel() }
    }

    /// The context for a connection being set up now.
    public var currentContext: OpenSSLContext { loaded.withLockedValue { $0.context } }

    /// Successful reloads since start (the initial load is not counted).
    public var reloadCount: Int { loaded.withLockedValue { $0.reloadCount } }

    /// notAfter of the certificate currently served.
    public var certificateNotAfter: Date? { currentContext.certificateNotAfter }

    /// Serial (upper-case hex) of the certificate currently served.
    public var certificateSerial: String? { currentContext.certificateSerial }

    /// Reloads if any watched file's content differs from what was last loaded.
    /// - Returns: `true` if a new context was installed.
    @discardableResult
    public func checkForChanges() -> Bool {
        reloadLock.withLock {
            let fingerprint = Self.fingerprint(of: configuration)
            let (current, failed) = loaded.withLockedValue { ($0.fingerprint, $0.failedFingerprint) }
            guard fingerprint != current, fingerprint != failed else { return false }
            return attemptReload(fingerprint: fingerprint)
        }
    }

    /// Rebuilds the context from the files now, changed or not.
    /// - Throws: the build error; the previous context stays in force.
    public func reloadNow() throws {
        try reloadLock.withLock {
            let fingerprint = Self.fingerprint(of: configuration)
            let context = try OpenSSLContext(configuration: configuration)
            install(context, fingerprint: fingerprint)
        }
    }

    /// Polls the files every `interval` on `eventLoop` until `stopWatching()` (or deinit).
    public func startWatching(on eventLoop: any EventLoop, every interval: TimeAmount) {
        let task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.checkForChanges()
        }
        watcher.withLockedValue { previous in
            previous?.cancel()
            previous = task
        }
    }

    /// Stops the polling started by `startWatching`.
    public func stopWatching() {
        watcher.withLockedValue { task in
            task?.cancel()
            task = nil
        }
    }

    private func attemptReload(fingerprint: [[UInt8]?]) -> Bool {
        do {
            let context = try OpenSSLContext(configuration: configuration)
            // A file rewritten while we were loading may have given us a mix of old and new.
            guard Self.fingerprint(of: configuration) == fingerprint else { return false }
            install(context, fingerprint: fingerprint)
            logger.info("TLS certificate reloaded", metadata: [
                "serial": "\(context.certificateSerial ?? "?")",
                "notAfter": "\(context.certificateNotAfter.map { "\($0)" } ?? "?")",
            ])
            return true
        } catch {
            loaded.withLockedValue { $0.failedFingerprint = fingerprint }
            logger.error("TLS certificate files changed but cannot be loaded; keeping the previous certificate until they change again", metadata: [
                "certificate": "\(configuration.certificateChainFile)",
                "key": "\(configuration.privateKeyFile)",
                "error": "\(error)",
            ])
            return false
        }
    }

    private func install(_ context: OpenSSLContext, fingerprint: [[UInt8]?]) {
        loaded.withLockedValue {
            $0.context = context
            $0.fingerprint = fingerprint
            $0.failedFingerprint = nil
            $0.reloadCount += 1
        }
    }

    private static func fingerprint(of configuration: TLSServerConfiguration) -> [[UInt8]?] {
        var paths = [configuration.certificateChainFile, configuration.privateKeyFile]
        if let caFile = configuration.clientCAFile { paths.append(caFile) }
        return paths.map(digest(ofFile:))
    }

    /// SHA-256 of a file's content, read with POSIX calls: the key's bytes are hashed, never kept,
    /// and nothing is lost on an empty or half-written file. `nil` when the file cannot be read.
    private static func digest(ofFile path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { return nil }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var total = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 { return nil }
            if count == 0 { break }
            total += count
            // Certificate and key files are small; anything this large is not one.
            if total > 16 * 1024 * 1024 { return nil }
            guard chunk.withUnsafeBytes({ EVP_DigestUpdate(context, $0.baseAddress, count) }) == 1 else { return nil }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1 else { return nil }
        return Array(digest.prefix(Int(length)))
    }
}
