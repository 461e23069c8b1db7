/// One list/watch source of the live view. Secrets are two sources, one per type, so that no
/// other Secret (service-account tokens, Helm releases, application credentials) is ever fetched.
public enum WatchSource: String, CaseIterable, Sendable, Hashable, Comparable {
    // Declaration order is the order referrers are reported in (as `InMemorySnapshot` does).
    case policies
    case ingresses
    case virtualServers = "virtualservers"
    case virtualServerRoutes = "virtualserverroutes"
    case caSecrets = "secrets-ca"
    case tlsSecrets = "secrets-tls"
    /// Namespaces, for their labels only (`mtls-guard.nginx.org/mode`).
    case namespaces

    public static func < (lhs: WatchSource, rhs: WatchSource) -> Bool {
        lhs.order < rhs.order
    }

    private var order: Int {
        WatchSource.allCases.firstIndex(of: self) ?? 0
    }

    /// API group; empty for the core group.
    public var group: String {
        switch self {
        case .policies, .virtualServers, .virtualServerRoutes: return "k8s.nginx.org"
        case .ingresses: return "networking.k8s.io"
        case .caSecrets, .tlsSecrets, .namespaces: return ""
        }
    }

    public var version: String { "v1" }

    /// The resource's plural name in the API path and in RBAC rules.
    public var resource: String {
        switch self {
        case .policies: return "policies"
        case .ingresses: return "ingresses"
        case .virtualServers: return "virtualservers"
        case .virtualServerRoutes: return "virtualserverroutes"
        case .caSecrets, .tlsSecrets: return "secrets"
        case .namespaces: return "namespaces"
        }
    }

    /// `type=...` for the Secret sources.
    public var fieldSelector: String? {
        switch self {
        case .caSecrets: return "type=nginx.org/ca"
        case .tlsSecrets: return "type=kubernetes.io/tls"
        default: return nil
        }
    }

    /// `policies.k8s.nginx.org`, `secrets (type=nginx.org/ca)`: the name used in readiness, logs and metrics.
    public var displayName: String {
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        if let fieldSelector { return "\(qualified) (\(fieldSelector))" }
        return qualified
    }

    /// Whether the resource belongs to NIC's CRDs, which may not be installed.
    public var isCustomResource: Bool { group == "k8s.nginx.org" }

    /// The kind of this source's objects.
    public var kind: String {
        switch self {
        case .policies: return "Policy"
        case .ingresses: return "Ingress"
        case .virtualServers: return "VirtualServer"
        case .virtualServerRoutes: return "VirtualServerRoute"
        case .caSecrets, .tlsSecrets: return "Secret"
        case .namespaces: return "Namespace"
        }
    }

    /// Path of the all-namespaces collection.
    public var collectionPath: String {
        group.isEmpty ? "/api/\(version)/\(resource)" : "/apis/\(group)/\(version)/\(resource)"
    }

    /// Whether objects of the source live in a namespace.
    public var isNamespaced: Bool { self != .namespaces }

    /// Path of one object.
    public func objectPath(namespace: String, name: String) -> String {
        let base = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        guard isNamespaced else { return "\(base)/\(resource)/\(APIClient.escape(name))" }
        return "\(base)/namespaces/\(APIClient.escape(namespace))/\(resource)/\(APIClient.escape(name))"
    }
}
