import Foundation

/// A development or in-cluster set: a CA and a serving certificate it issued.
public enum ServingCertificateSet {
    /// Writes `ca.crt`, `ca.key`, `tls.crt` and `tls.key` into `directory` (created if missing).
    ///
    /// The CA is `"<commonName> CA"` with pathlen 0; the serving certificate has `commonName`, `sans` and
    /// extendedKeyUsage serverAuth. Keys are written with mode 0600, certificates 0644; each file is
    /// written to a temporary name and renamed, so a reader never sees half a file.
    @discardableResult
    public static func write(
        to directory: URL, commonName: String, sans: [String], keyType: KeyType, validity: TimeInterval
    ) throws -> (ca: IssuedCertificate, serving: IssuedCertificate) {
        let notBefore = Date(timeIntervalSinceNow: -300)
        let notAfter = Date(timeIntervalSinceNow: validity)
        let ca = try CertificateFactory.selfSigned(CertificateRequest(
            commonName: "\(commonName) CA", isCA: true, pathLength: 0,
            notBefore: notBefore, notAfter: notAfter, keyType: keyType))
        let serving = try CertificateFactory.issue(CertificateRequest(
            commonName: commonName, sans: sans, notBefore: notBefore, notAfter: notAfter,
            keyType: keyType, extendedKeyUsage: [.serverAuth]), by: ca)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writeFile(directory.appendingPathComponent("ca.crt"), ca.certificatePEM, mode: 0o644)
        try writeFile(directory.appendingPathComponent("ca.key"), ca.privateKeyPEM, mode: 0o600)
        try writeFile(directory.appendingPathComponent("tls.crt"), serving.certificatePEM, mode: 0o644)
        try writeFile(directory.appendingPathComponent("tls.key"), serving.privateKeyPEM, mode: 0o600)
        return (ca, serving)
    }

    /// Creates the temporary file with its final mode already set, so a key is never readable by others.
    private static func writeFile(_ url: URL, _ contents: String, mode: mode_t) throws {
        let temporary = url.path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, mode)
        guard descriptor >= 0 else { throw posixError(temporary) }
        var succeeded = false
        defer { if !succeeded { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, mode) == 0 else { throw posixError(temporary) }
            try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(contentsOf: Data(contents.utf8))
            guard fsync(descriptor) == 0 else { throw posixError(temporary) }
        }
        guard rename(temporary, url.path) == 0 else { throw posixError(url.path) }
        succeeded = true
    }

    private static func posixError(_ path: String) -> any Error {
        let code = POSIXErrorCode(rawValue: errno) ?? .EIO
        return CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(code)])
    }
}
