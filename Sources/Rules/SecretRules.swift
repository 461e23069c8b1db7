import Foundation
import KubeModel

/// RULES.md §3: content of `nginx.org/ca` and `kubernetes.io/tls` Secrets.
public enum SecretRules {
    /// Content findings for a Secret (secret/ca, secret/ca-crl, secret/ca-not-ca, secret/tls, secret/expiry),
    /// with field paths rooted at `root` (`data` for the Secret itself).
    public static func contentFindings(_ secret: SecretView, root: FieldPath = FieldPath("data"), settings: Settings) -> [Finding] {
        [] // Placeholder until §3 lands.
    }
}
