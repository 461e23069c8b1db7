import Foundation
import KubeModel
import Rules

/// The verdict of the audit on one object: what reports name it by, and its findings now.
public struct AuditedObject: Sendable, Equatable {
    public var subject: AuditSubject
    public var apiVersion: String
    public var uid: String?
    /// In output order (deny first).
    public var findings: [Finding]
    /// CA and TLS Secrets this object makes part of its mTLS set-up: the Secrets an mTLS Policy
    /// names, and the TLS Secrets of hosts an ingressMTLS Policy protects. Their expiry is published.
    public var mTLSSecrets: [ObjectKey]

    public init(subject: AuditSubject, apiVersion: String, uid: String?, findings: [Finding], mTLSSecrets: [ObjectKey] = []) {
        self.subject = subject
        self.apiVersion = apiVersion
        self.uid = uid
        self.findings = findings.sortedForOutput()
        self.mTLSSecrets = mTLSSecrets
    }

    public var hasDenials: Bool { findings.contains { $0.severity == .deny } }
}
