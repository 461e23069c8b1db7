import KubeModel
import Rules

/// An object the audit judges, by API group, kind and `namespace/name`. Secrets are one kind,
/// whichever of the live view's two Secret sources holds them.
public struct AuditSubject: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var group: String
    public var kind: String
    public var key: ObjectKey

    public init(group: String, kind: String, key: ObjectKey) {
        self.group = group
        self.kind = kind
        self.key = key
    }

    /// The subject of `object`; `default` for a namespaced object without a namespace.
    public init(_ object: KubeObject) {
        self.init(group: object.group, kind: object.kind,
                  key: ObjectKey(namespace: object.metadata.namespace ?? "default", name: object.name))
    }

    public static let policyKind = (group: "k8s.nginx.org", kind: "Policy")
    public static let secretKind = (group: "", kind: "Secret")

    /// The Policy `key`.
    public static func policy(_ key: ObjectKey) -> AuditSubject {
        AuditSubject(group: policyKind.group, kind: policyKind.kind, key: key)
    }

    public var isPolicy: Bool { group == Self.policyKind.group && kind == Self.policyKind.kind }
    public var isSecret: Bool { group == Self.secretKind.group && kind == Self.secretKind.kind }

    /// Secrets first, then Policies, then what references them: the order in which a pass judges,
    /// so a referrer sees the verdict on the Policy it uses from the same pass.
    var judgementOrder: Int {
        if isSecret { return 0 }
        if isPolicy { return 1 }
        return 2
    }

    public static func < (lhs: AuditSubject, rhs: AuditSubject) -> Bool {
        (lhs.judgementOrder, lhs.group, lhs.kind, lhs.key) < (rhs.judgementOrder, rhs.group, rhs.kind, rhs.key)
    }

    /// `Policy cafe/ingress-mtls-policy`
    public var description: String { "\(kind) \(key)" }
}
