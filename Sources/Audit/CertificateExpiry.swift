import Certificates
import Foundation
import KubeModel

/// The earliest `notAfter` among the certificates of a CA or TLS Secret (`ca.crt`, `tls.crt`):
/// the moment NGINX starts failing handshakes with it (NGINX does not notice an expiring
/// certificate while it runs; clients just start getting errors).
public enum CertificateExpiry {
    /// `nil` when the Secret holds no parseable certificate.
    public static func earliestNotAfter(_ secret: KubeObject) -> Date? {
        let view = SecretView(secret)
        var earliest: Date?
        for key in ["ca.crt", "tls.crt"] {
            guard let bytes = view.data[key] else { continue }
            for block in PEMBundle.blocks(in: bytes).blocks where block.label == "CERTIFICATE" {
                guard let der = block.der, let certificate = try? Certificate(derEncoded: der) else { continue }
                if earliest.map({ certificate.notAfter < $0 }) ?? true { earliest = certificate.notAfter }
            }
        }
        return earliest
    }
}
