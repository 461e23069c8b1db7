import Foundation

/// NGINX Service Mesh's mesh-wide mTLS mode (`nginx-meshctl deploy --mtls-mode`).
public enum MeshMTLSMode: String, Sendable, Hashable, CaseIterable, Codable {
    case off, permissive, strict
}

/// Everything the rules need to know that is not in the objects. Passed in, never global.
public struct Settings: Sendable {
    /// Mesh-wide mTLS mode; NSM's default is `permissive`.
    public var meshMTLSMode: MeshMTLSMode
    /// Deny (instead of warn) when a referenced Policy or Secret does not exist.
    public var strictReferences: Bool
    /// `secret/expiry` warns when a certificate expires within this interval.
    public var expiryWarningWindow: TimeInterval
    /// Ingress classes this instance checks (`--ingress-class`); others are never checked.
    public var ingressClasses: Set<String>
    /// NIC runs with `-wildcard-tls-secret` (`--nic-wildcard-tls`): a VirtualServer's `tls: {}` and an
    /// Ingress `tls` entry without `secretName` are served with that certificate instead of failing TLS.
    public var nicWildcardTLS: Bool
    /// The current time, injected so rules stay pure.
    public var now: Date

    public init(
        meshMTLSMode: MeshMTLSMode = .permissive,
        strictReferences: Bool = false,
        expiryWarningWindow: TimeInterval = 30 * 24 * 3600,
        ingressClasses: Set<String> = ["nginx"],
        nicWildcardTLS: Bool = false,
        now: Date = Date()
    ) {
        self.meshMTLSMode = meshMTLSMode
        self.strictReferences = strictReferences
        self.expiryWarningWindow = expiryWarningWindow
        self.ingressClasses = ingressClasses
        self.nicWildcardTLS = nicWildcardTLS
        self.now = now
    }
}
