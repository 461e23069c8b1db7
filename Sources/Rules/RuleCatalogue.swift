import Foundation

/// One rule of RULES.md: its stable ID, default severity and where it is specified.
public struct RuleDescriptor: Sendable, Hashable {
    public let id: RuleID
    /// The severity the rule reports with by default. A missing reference reports `warn` under a
    /// deny rule unless `strictReferences` is set.
    public let severity: Severity
    /// RULES.md section number (1–8).
    public let section: Int
    /// The rule looks at other objects and is skipped when no cluster view is available.
    public let needsState: Bool
}

/// Every rule ID of RULES.md, for metrics labels, documentation and tests.
public enum RuleCatalogue {
    /// All rules, in RULES.md order; an ID listed in two sections appears once, at its first section.
    public static let all: [RuleDescriptor] = [
        // §1 Policy
        rule("policy/one-type", .deny, 1),
        rule("ingress-mtls/client-cert-secret", .deny, 1),
        rule("ingress-mtls/verify-client", .deny, 1),
        rule("ingress-mtls/verify-depth", .deny, 1),
        rule("ingress-mtls/crl-file-name", .deny, 1),
        rule("ingress-mtls/no-verification", .warn, 1),
        rule("egress-mtls/tls-secret", .deny, 1),
        rule("egress-mtls/trusted-cert-secret", .deny, 1),
        rule("egress-mtls/verify-depth", .deny, 1),
        rule("egress-mtls/ssl-name", .deny, 1),
        rule("egress-mtls/protocols", .deny, 1),
        rule("egress-mtls/ciphers", .deny, 1),
        rule("egress-mtls/weak-protocols", .warn, 1),
        rule("egress-mtls/no-verification", .warn, 1),
        rule("egress-mtls/ssl-name-unused", .warn, 1),
        // §2 Policy references to Secrets
        rule("ingress-mtls/client-cert-secret-ref", .deny, 2, state: true),
        rule("egress-mtls/tls-secret-ref", .deny, 2, state: true),
        rule("egress-mtls/trusted-cert-secret-ref", .deny, 2, state: true),
        rule("ingress-mtls/crl-conflict", .warn, 2, state: true),
        rule("ingress-mtls/verify-depth-chain", .warn, 2, state: true),
        // §3 Secrets
        rule("secret/ca", .deny, 3),
        rule("secret/ca-crl", .deny, 3),
        rule("secret/ca-not-ca", .warn, 3),
        rule("secret/tls", .deny, 3),
        rule("secret/expiry", .warn, 3),
        rule("secret/in-use-delete", .deny, 3, state: true),
        rule("secret/in-use-update", .deny, 3, state: true),
        // §4 Ingress
        rule("ingress/policies-annotation", .deny, 4),
        rule("ingress/ssl-services", .deny, 4),
        rule("ingress/grpc-services", .deny, 4),
        rule("ingress/mergeable-type", .deny, 4),
        rule("ingress/policy-ref", .deny, 4, state: true),
        rule("ingress/policy-kind", .deny, 4, state: true),
        rule("ingress-mtls/minion", .deny, 4, state: true),
        rule("ingress-mtls/tls-required", .deny, 4, state: true),
        rule("ingress-mtls/host-without-tls", .deny, 4, state: true),
        rule("ingress-mtls/tls-secret", .deny, 4, state: true),
        rule("ingress-mtls/multiple", .warn, 4, state: true),
        rule("egress-mtls/multiple", .warn, 4, state: true),
        rule("egress-mtls/upstream-tls", .warn, 4, state: true),
        rule("egress-mtls/master", .warn, 4, state: true),
        // §5 VirtualServer and VirtualServerRoute (ingress-mtls/multiple, egress-mtls/multiple: see §4)
        rule("vs/policy-ref-format", .deny, 5),
        rule("vs/policy-ref", .deny, 5, state: true),
        rule("ingress-mtls/route-scope", .deny, 5, state: true),
        rule("ingress-mtls/vs-tls-required", .deny, 5, state: true),
        rule("ingress-mtls/vs-tls-secret", .deny, 5, state: true),
        rule("egress-mtls/vs-upstream-tls", .warn, 5, state: true),
        rule("egress-mtls/grpc-server-scope", .warn, 5, state: true),
        // §6 NGINX Service Mesh
        rule("mesh/mtls-mode-value", .deny, 6),
        rule("mesh/mtls-mode-conflict", .deny, 6),
        rule("mesh/mtls-mode-placement", .warn, 6),
        rule("mesh/mtls-off", .warn, 6),
        rule("mesh/udp-plaintext", .warn, 6),
        rule("mesh/ignored-ports", .warn, 6),
        // §7 NSM upstream CA (CLI only)
        rule("upstream-ca/schema", .deny, 7),
        rule("upstream-ca/pem", .deny, 7),
        rule("upstream-ca/key-match", .deny, 7),
        rule("upstream-ca/pathlen", .deny, 7),
        rule("upstream-ca/chain", .deny, 7),
        rule("upstream-ca/root-direct", .warn, 7),
        rule("upstream-ca/expiry", .warn, 7),
        // §8 Deletes and reverse checks
        rule("policy/in-use-delete", .deny, 8, state: true),
        rule("policy/in-use-update", .deny, 8, state: true),
    ]

    private static let byID: [RuleID: RuleDescriptor] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

    /// The rule with this ID, or `nil` for an ID RULES.md does not define.
    public static func descriptor(for id: RuleID) -> RuleDescriptor? { byID[id] }

    /// Every rule ID, in RULES.md order.
    public static var ids: [RuleID] { all.map(\.id) }

    private static func rule(_ id: RuleID, _ severity: Severity, _ section: Int, state: Bool = false) -> RuleDescriptor {
        RuleDescriptor(id: id, severity: severity, section: section, needsState: state)
    }
}
