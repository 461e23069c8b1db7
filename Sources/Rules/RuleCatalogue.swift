import Foundation

/// One rule of the catalogue: its stable ID and what a user needs to know about it.
///
/// The catalogue is the one source of truth for `mtls-guard rules`, `docs/rules.md`, the metric labels
/// and the tests that every ID a rule can emit is listed here.
public struct RuleDescriptor: Sendable, Hashable, Codable {
    public let id: RuleID
    /// The severity the rule reports with by default. A missing reference reports `warn` under a
    /// deny rule unless `strictReferences` is set.
    public let severity: Severity
    /// Section of docs/rules.md (1–8), see `RuleCatalogue.sections`.
    public let section: Int
    /// The rule looks at other objects and is skipped when no cluster view is available.
    public let needsState: Bool
    /// The kinds (or files) the rule judges.
    public let kinds: [String]
    /// NIC itself (NSM for the mesh and upstream-CA rules) detects this: it rejects the object, or warns and
    /// serves 500 / refuses the handshake. `false` marks a check "beyond NIC": NIC accepts the object and the
    /// failure shows only in traffic.
    public let checkedByController: Bool
    /// One paragraph: what is checked, why it matters, and the fix.
    public let description: String
}

/// Every rule mtls-guard has, in document order.
public enum RuleCatalogue {
    /// Section titles of docs/rules.md, by number.
    public static let sections: [Int: String] = [
        1: "Policy (k8s.nginx.org/v1)",
        2: "Policy references to Secrets",
        3: "Secrets (nginx.org/ca, kubernetes.io/tls)",
        4: "Ingress (networking.k8s.io/v1)",
        5: "VirtualServer and VirtualServerRoute (k8s.nginx.org/v1)",
        6: "NGINX Service Mesh workload annotations",
        7: "NGINX Service Mesh upstream CA file (check-upstream-ca)",
        8: "Deletes and updates of referenced objects",
    ]

    static let policy = ["Policy"]
    static let secret = ["Secret"]
    static let ingress = ["Ingress"]
    static let virtualServers = ["VirtualServer", "VirtualServerRoute"]
    static let workloads = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]
    static let upstreamCAFile = ["upstream CA file"]

    /// All rules, in document order; an ID that applies in two sections appears once, at its first.
    public static let all: [RuleDescriptor] = [
        // 1. Policy
        rule("policy/one-type", .deny, 1, policy, nic: true,
             "`spec` must set exactly one policy type. Every member of `spec` other than `ingressClassName` is a type (NIC 5.5 has accessControl, rateLimit, jwt, basicAuth, ingressMTLS, egressMTLS, oidc, waf, apiKey, cache, cors, externalAuth; the API server drops members the installed CRD does not know, so there is no closed list). `ingressMTLS: {}` counts as set; a member whose value is null does not. NIC rejects a Policy with none or several. Fix: split it into one Policy per type (ingressMTLS and egressMTLS always in separate Policies) and reference each."),
        rule("ingress-mtls/client-cert-secret", .deny, 1, policy, nic: true,
             "`spec.ingressMTLS.clientCertSecret` is required and must be a Secret name (a lowercase DNS-1123 subdomain, at most 253 characters) without a namespace: the Secret is always read from the Policy's namespace. `\"\"` counts as unset. Fix: name the `nginx.org/ca` Secret holding the client CA."),
        rule("ingress-mtls/verify-client", .deny, 1, policy, nic: true,
             "`verifyClient`, when set, is one of `on`, `off`, `optional`, `optional_no_ca` (case-sensitive; unset or `\"\"` means `on`). An unquoted YAML `on`/`off` arrives as a boolean: quote it."),
        rule("ingress-mtls/verify-depth", .deny, 1, policy, nic: true,
             "`spec.ingressMTLS.verifyDepth`, when set, is an integer of at least 0 (default 1). Fix: write a plain non-negative number, without quotes."),
        rule("ingress-mtls/crl-file-name", .deny, 1, policy, nic: false,
             "`crlFileName`, when set, is a plain file name: no `/`, no `..`, no whitespace, no `;`, `{`, `}`, `$` or quotes, at most 255 characters. NIC writes it into the NGINX configuration unchecked, so anything else breaks or alters the configuration. Fix: give the bare name of the CRL file NIC mounts."),
        rule("ingress-mtls/no-verification", .warn, 1, policy, nic: false,
             "`verifyClient: off` requests no client certificate and `optional_no_ca` does not verify it against the CA: the Policy then does not authenticate clients. Fix: use `on` (or `optional` when the application checks `$ssl_client_verify`)."),
        rule("ingress-mtls/optional-client", .warn, 1, policy, nic: false,
             "`verifyClient: optional` lets a client that sends no certificate through; only the application, reading `$ssl_client_verify`, can refuse it. Fix: use `on` unless the application does that check."),
        rule("egress-mtls/tls-secret", .deny, 1, policy, nic: true,
             "`spec.egressMTLS.tlsSecret`, when set (not `\"\"`), is a Secret name: a lowercase DNS-1123 subdomain without a namespace. Fix: name the `kubernetes.io/tls` Secret with the client certificate NGINX presents upstream."),
        rule("egress-mtls/trusted-cert-secret", .deny, 1, policy, nic: true,
             "`trustedCertSecret`, when set, is a Secret name (DNS-1123 subdomain); it is required when `verifyServer` is true, and `\"\"` then counts as missing. A `verifyServer` that is not a boolean is reported here too. Fix: name the `nginx.org/ca` Secret with the CA that signed the upstream's certificate."),
        rule("egress-mtls/verify-depth", .deny, 1, policy, nic: true,
             "`spec.egressMTLS.verifyDepth`, when set, is an integer of at least 0 (default 1). Fix: write a plain non-negative number."),
        rule("egress-mtls/ssl-name", .deny, 1, policy, nic: true,
             "`sslName`, when set (not `\"\"`), is a DNS-1123 subdomain: no uppercase, `*`, `:port`, `$variable` or `;`. A `serverName` that is not a boolean is reported here too. Fix: the plain DNS name in the upstream's certificate."),
        rule("egress-mtls/protocols", .deny, 1, policy, nic: false,
             "`protocols`, when set, is a space-separated list of `SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3` without duplicates; `\"\"` is NIC's default. NIC pastes the value into `proxy_ssl_protocols`, so anything else makes NGINX fail to load the configuration. Fix: for example `TLSv1.2 TLSv1.3`."),
        rule("egress-mtls/ciphers", .deny, 1, policy, nic: false,
             "`ciphers`, when set, is an OpenSSL cipher string (characters `A-Za-z0-9!+:@_.=-` only) from which OpenSSL selects at least one cipher (`eNULL:!eNULL` selects none); `\"\"` is NIC's default `DEFAULT`. Otherwise NGINX fails to load the configuration. Fix: for example `HIGH:!aNULL:!MD5`."),
        rule("egress-mtls/ssl-name-missing", .deny, 1, policy, nic: false,
             "`verifyServer: true` with `sslName` unset: NGINX then checks the upstream's certificate against `$proxy_host`, which NIC sets to the upstream name it generates (such as `vs_default_webapp_backend` or `default-webapp-ingress-webapp.example.com-secure-app-8443`). No certificate carries that name, so every request fails with 502. Fix: set `sslName` to the DNS name in the upstream's certificate."),
        rule("egress-mtls/weak-protocols", .warn, 1, policy, nic: false,
             "The effective protocols towards the upstream include SSLv2, SSLv3, TLSv1 or TLSv1.1; NIC's default when `protocols` is unset is `TLSv1 TLSv1.1 TLSv1.2`. Fix: set `protocols: \"TLSv1.2 TLSv1.3\"`."),
        rule("egress-mtls/no-verification", .warn, 1, policy, nic: false,
             "`verifyServer` is false or unset: the upstream's certificate is not verified, so anyone on the path can impersonate the upstream. Fix: `verifyServer: true` with `trustedCertSecret` and `sslName`."),
        rule("egress-mtls/ssl-name-unused", .warn, 1, policy, nic: false,
             "`sslName` is set while both `verifyServer` and `serverName` are false: it has no effect. Fix: set `verifyServer` (or `serverName`) to true, or remove `sslName`."),

        // 2. Policy references to Secrets
        rule("ingress-mtls/client-cert-secret-ref", .deny, 2, policy, state: true, nic: true,
             "The Secret named by `clientCertSecret` exists in the Policy's namespace, has type `nginx.org/ca` and content valid per `secret/ca`; NIC serves 500 wherever the Policy applies otherwise. A Secret that does not exist (yet) is a warning unless `--strict-references`. Fix: create the Secret with type `nginx.org/ca` and the CA bundle under `ca.crt`."),
        rule("egress-mtls/tls-secret-ref", .deny, 2, policy, state: true, nic: true,
             "The Secret named by `tlsSecret` exists in the Policy's namespace, has type `kubernetes.io/tls` and is valid per `secret/tls`; NIC serves 500 otherwise. Fix: a `kubernetes.io/tls` Secret with a matching `tls.crt` and `tls.key`."),
        rule("egress-mtls/trusted-cert-secret-ref", .deny, 2, policy, state: true, nic: true,
             "The Secret named by `trustedCertSecret` exists in the Policy's namespace, has type `nginx.org/ca` and is valid per `secret/ca`; NIC serves 500 otherwise. Fix: an `nginx.org/ca` Secret with the upstream's CA under `ca.crt`."),
        rule("ingress-mtls/crl-conflict", .warn, 2, policy, state: true, nic: true,
             "The CA Secret holds `ca.crl` and the Policy sets `crlFileName`: NIC ignores `ca.crl`. Fix: remove one of the two."),
        rule("ingress-mtls/verify-depth-chain", .warn, 2, policy, state: true, nic: false,
             "The CA bundle holds intermediate CAs: a client certificate issued by the deepest one has N intermediates above it, and OpenSSL (checked against `openssl verify -verify_depth`) accepts at most `verifyDepth` (default 1) of them. When `verifyDepth` is less than N every such client is rejected. Fix: set `verifyDepth` to N."),

        // 3. Secrets
        rule("secret/ca", .deny, 3, secret, nic: true,
             "An `nginx.org/ca` Secret has `ca.crt` with at least one PEM block, and every block is a `CERTIFICATE` that parses as X.509 (NIC checks only the first, NGINX loads them all). Text outside the blocks (comments) is ignored, as NIC and OpenSSL ignore it; a block cut off (BEGIN without END) or with broken base64 is a violation. Fix: a PEM bundle of CA certificates under `ca.crt`."),
        rule("secret/ca-crl", .deny, 3, secret, nic: false,
             "`ca.crl` of an `nginx.org/ca` Secret, when present, is a PEM X.509 CRL; NGINX fails to load anything else. Fix: `openssl crl -outform PEM`, or remove the key."),
        rule("secret/ca-not-ca", .warn, 3, secret, nic: false,
             "A certificate in `ca.crt` lacks `basicConstraints CA:TRUE`: OpenSSL does not verify client certificates with it. Fix: put the issuing CA's certificate there, not a leaf."),
        rule("secret/tls", .deny, 3, secret, nic: true,
             "A `kubernetes.io/tls` Secret has `tls.crt` and `tls.key`, both parse, and the key matches the first certificate. NIC rejects the TLS handshakes of hosts using it otherwise. Fix: the certificate chain (leaf first) and its unencrypted key."),
        rule("secret/expiry", .warn, 3, secret, nic: false,
             "A certificate (CA or leaf) is expired, not yet valid, or expires within 30 days (`--expiry-window-days`); the message gives the subject and the date. Fix: renew it before clients start failing."),
        rule("secret/in-use-delete", .deny, 3, secret, state: true, nic: false,
             "DELETE of a Secret that an mTLS Policy references (`clientCertSecret`, `tlsSecret`, `trustedCertSecret`) or that is the TLS Secret of a host protected by ingressMTLS: NIC would serve 500 there. The message lists the users (at most 5, then \"and N more\"). Fix: remove the references first."),
        rule("secret/in-use-update", .deny, 3, secret, state: true, nic: false,
             "UPDATE of such a Secret to content (or a type) that fails `secret/ca` or `secret/tls`. Fix: keep the type and valid content; rotate by writing a valid new bundle."),

        // 4. Ingress
        rule("ingress/policies-annotation", .deny, 4, ingress, nic: true,
             "`nginx.org/policies` (and `nginx.com/policies`) is non-empty; comma-separated items (whitespace around items is trimmed), each `name` or `namespace/name` with DNS-1123 subdomain parts, no empty items. NIC merges both annotations and drops repeats by `namespace/name`: `p` and `default/p` in namespace `default` are one reference. NIC rejects the Ingress otherwise. Beyond NIC: an annotation listing more than 256 items is denied (one finding saying how many), and only its first 256 items are resolved, indexed as references, or fetched when the live view lacks them; NIC sets no such limit, this one bounds the work one object can cause. Fix: `name` or `namespace/name`, separated by commas."),
        rule("ingress/ssl-services", .deny, 4, ingress, nic: true,
             "`nginx.org/ssl-services` is a non-empty comma-separated list of backend Services of this Ingress. NIC splits at commas and does NOT trim: in `tea-svc, coffee-svc` the second name is ` coffee-svc`, no backend, and NIC rejects the whole Ingress. A mergeable master has no backends and NIC strips the annotation from it. Fix: `tea-svc,coffee-svc`; on mergeable Ingresses put it on the minions."),
        rule("ingress/grpc-services", .deny, 4, ingress, nic: true,
             "`nginx.org/grpc-services`: the same as `ingress/ssl-services`."),
        rule("ingress/mergeable-type", .deny, 4, ingress, nic: true,
             "`nginx.org/mergeable-ingress-type` is `master` or `minion`. A master has exactly one rule and no paths; a minion has no `spec.tls` entries, exactly one rule and at least one path. NIC rejects the Ingress otherwise."),
        rule("ingress/policy-ref", .deny, 4, ingress, state: true, nic: true,
             "Every referenced Policy exists, is valid, and belongs to this controller's class: NIC drops a Policy whose `spec.ingressClassName` names another class, and serves 500 for every host of an Ingress referencing a missing or invalid Policy. A Policy that does not exist (yet) is a warning unless `--strict-references`. Fix: create or fix the Policy, or remove its `ingressClassName`."),
        rule("ingress/policy-kind", .deny, 4, ingress, state: true, nic: true,
             "A referenced Policy's type is one NIC applies on an Ingress: accessControl, cors, externalAuth, ingressMTLS, egressMTLS, waf (cache, rateLimit, jwt and the others are for VirtualServers); a waf Policy must come through `nginx.com/policies`. NIC serves 500 for every host otherwise. Fix: reference only those types, or use a VirtualServer."),
        rule("ingress-mtls/minion", .deny, 4, ingress, state: true, nic: true,
             "A mergeable minion references an ingressMTLS Policy: NIC serves 500 for the minion's paths. Fix: reference it from the master."),
        rule("ingress-mtls/tls-required", .deny, 4, ingress, state: true, nic: true,
             "An Ingress referencing an ingressMTLS Policy has no `spec.tls`: NIC serves 500 for all its hosts. Fix: add `spec.tls` with the hosts and a `kubernetes.io/tls` Secret."),
        rule("ingress-mtls/host-without-tls", .deny, 4, ingress, state: true, nic: false,
             "A rule host of an Ingress referencing an ingressMTLS Policy is in no `spec.tls[].hosts` entry: NIC only warns and serves that host WITHOUT client certificate verification (fails open). NIC compares hosts by exact string: `*.example.com` in `tls.hosts` covers only a rule host written `*.example.com`, never `cafe.example.com`, and an entry without `hosts` covers nothing. Fix: add the host to a `spec.tls[].hosts` list (the message says which)."),
        rule("ingress-mtls/tls-secret", .deny, 4, ingress, state: true, nic: true,
             "The `spec.tls[].secretName` that serves such a host (NIC uses the last entry listing it) names an existing `kubernetes.io/tls` Secret valid per `secret/tls`. An entry without `secretName` passes with `--nic-wildcard-tls` (NIC runs with `-wildcard-tls-secret`). A Secret that does not exist (yet) is a warning unless `--strict-references`. Fix: name a valid TLS Secret."),
        rule("ingress-mtls/multiple", .warn, 4, ingress + virtualServers, state: true, nic: true,
             "More than one ingressMTLS Policy in the same context: only the first applies. Fix: reference one."),
        rule("egress-mtls/multiple", .warn, 4, ingress + virtualServers, state: true, nic: true,
             "More than one egressMTLS Policy in the same context: only the first applies. Fix: reference one."),
        rule("egress-mtls/upstream-tls", .warn, 4, ingress, state: true, nic: false,
             "An egressMTLS Policy applies but a backend Service is not in `nginx.org/ssl-services`: NGINX connects to it in plaintext and the Policy has no effect for it. `nginx.org/grpc-services` alone is plaintext too (NIC renders `grpcs://` only for a Service in both annotations). Fix: list the Service in `nginx.org/ssl-services` (and, for gRPC, in both)."),
        rule("egress-mtls/grpc-server-scope", .warn, 4, ingress + ["VirtualServer"], state: true, nic: false,
             "On a standard Ingress (or master) or in a VirtualServer's `spec.policies`, NIC renders an egressMTLS Policy at server scope as `proxy_ssl_*`, which gRPC locations do not read: a backend in `nginx.org/grpc-services` (or an upstream with `type: grpc`) gets none of its settings. Fix: attach the Policy to a mergeable minion or to the VirtualServer's routes (location scope renders `grpc_ssl_*`)."),
        rule("egress-mtls/master", .warn, 4, ingress, state: true, nic: false,
             "egressMTLS on a mergeable master: NIC strips `nginx.org/ssl-services` from masters, so the Policy only takes effect for minions that declare `nginx.org/ssl-services`. Fix: reference it from the minions, or make sure they declare their TLS Services."),
        rule("ingress-mtls/foreign-client-auth", .deny, 4, ingress, state: true, nic: false,
             "An Ingress of this controller's class has ingress-nginx's `nginx.ingress.kubernetes.io/auth-tls-secret` (or `auth-tls-verify-client` other than `off`) and references no ingressMTLS Policy: its author asked for client certificate verification and NIC, which ignores ingress-nginx annotations, serves the hosts without it (fails open). State is needed only to learn the type of referenced Policies; with no `nginx.org/policies` at all none is. Fix: an ingressMTLS Policy whose `clientCertSecret` names a Secret of type `nginx.org/ca` holding the CA under `ca.crt` (ingress-nginx's Secret usually has another type or key), `verifyClient`/`verifyDepth` carried over from `auth-tls-verify-client`/`auth-tls-verify-depth`, referenced in `nginx.org/policies`, with the hosts in `spec.tls`."),
        rule("ingress/foreign-mtls-annotation", .warn, 4, ingress, nic: false,
             "Another ingress-nginx TLS annotation on an Ingress of this controller's class has no effect on NIC: `auth-tls-*` next to an ingressMTLS Policy, `proxy-ssl-secret`, `proxy-ssl-verify`, `proxy-ssl-verify-depth`, `proxy-ssl-name`, `proxy-ssl-server-name`, `proxy-ssl-protocols`, `proxy-ssl-ciphers`, `backend-protocol: HTTPS`/`GRPCS`. One finding per annotation, naming the NIC equivalent: an egressMTLS Policy field, `nginx.org/ssl-services`, or `nginx.org/grpc-services`."),

        // 5. VirtualServer and VirtualServerRoute
        rule("vs/policy-ref-format", .deny, 5, virtualServers, nic: true,
             "Each entry of `spec.policies`, `spec.routes[].policies` and VirtualServerRoute `spec.subroutes[].policies` has a `name` (DNS-1123 subdomain) and, when set, a `namespace` (DNS-1123 label); no `namespace/name` twice in one list. NIC rejects the resource otherwise."),
        rule("vs/policy-ref", .deny, 5, virtualServers, state: true, nic: true,
             "Every referenced Policy exists, is valid and belongs to this controller's class; NIC serves 500 where it applies otherwise. A Policy that does not exist (yet) is a warning unless `--strict-references`."),
        rule("ingress-mtls/route-scope", .deny, 5, virtualServers, state: true, nic: true,
             "An ingressMTLS Policy is referenced from `routes[].policies` or `subroutes[].policies`: NIC allows it only in the VirtualServer's `spec.policies` and serves 500 otherwise. Fix: move the reference there."),
        rule("ingress-mtls/vs-tls-required", .deny, 5, ["VirtualServer"], state: true, nic: true,
             "A VirtualServer with an ingressMTLS Policy in `spec.policies` has no `spec.tls.secret`: NIC serves 500. With `--nic-wildcard-tls` (NIC runs with `-wildcard-tls-secret`), `tls: {}` is served with the wildcard certificate and passes; no `tls` at all never does. Fix: set `spec.tls.secret` to a `kubernetes.io/tls` Secret."),
        rule("ingress-mtls/vs-tls-secret", .deny, 5, ["VirtualServer"], state: true, nic: true,
             "That `spec.tls.secret` names an existing `kubernetes.io/tls` Secret valid per `secret/tls` in the VirtualServer's namespace. A Secret that does not exist (yet) is a warning unless `--strict-references`."),
        rule("egress-mtls/vs-upstream-tls", .warn, 5, virtualServers, state: true, nic: false,
             "An egressMTLS Policy applies to a route or subroute whose upstream lacks `tls.enable: true`: NGINX connects in plaintext and the Policy has no effect. Fix: set `tls.enable: true` on the upstream."),

        // 6. NGINX Service Mesh
        rule("mesh/mtls-mode-value", .deny, 6, workloads, nic: false,
             "The pod-template annotation `config.nsm.nginx.com/mtls-mode` is `off`, `permissive` or `strict`. NSM matches case-insensitively (another case is a warning saying to write it lowercase) and silently falls back to the mesh-wide mode on any other value. Fix: one of the three values, quoted in YAML."),
        rule("mesh/mtls-mode-conflict", .deny, 6, workloads, nic: true,
             "The mesh-wide mode (`--mesh-mtls-mode`) is `strict` and the annotation asks for less: NSM refuses the injection, and downgrades under strict are forbidden by design. Fix: `strict`, or remove the annotation."),
        rule("mesh/mtls-mode-placement", .warn, 6, workloads, nic: false,
             "The mtls-mode annotation sits on the workload's own metadata (or a CronJob's job template) instead of the pod template, where it has no effect. Fix: move it to the pod template's `metadata.annotations`."),
        rule("mesh/mtls-off", .warn, 6, workloads, nic: false,
             "The pod's effective mesh mTLS mode is `off`: its traffic is plaintext, suitable only for development. Fix: `permissive` or `strict`."),
        rule("mesh/udp-plaintext", .warn, 6, workloads, nic: false,
             "The effective mode is `permissive` or `strict` and a container declares a UDP port: NSM does not protect UDP with mTLS, so those datagrams go in plaintext. Fix: protect that traffic at the application layer, or avoid UDP."),
        rule("mesh/ignored-ports", .warn, 6, workloads, nic: false,
             "`config.nsm.nginx.com/ignore-incoming-ports` or `ignore-outgoing-ports` on a pod whose effective mode is `strict`: traffic on those ports bypasses the sidecar and mTLS. Fix: remove the ports from the list unless the bypass is intended."),

        // 7. NSM upstream CA file
        rule("upstream-ca/schema", .deny, 7, upstreamCAFile, nic: false,
             "The file passed to `nginx-meshctl deploy --mtls-upstream-ca-conf` has exactly `apiVersion: v1`, `upstreamAuthority` (disk, aws_pca, awssecret, vault, cert-manager) and `config` with that authority's required fields; unknown fields are named with the nearest valid one."),
        rule("upstream-ca/pem", .deny, 7, upstreamCAFile, nic: false,
             "Files named by `*_path` fields that exist locally are readable PEM of the right kind (certificate, private key, certificate bundle). A missing file is a warning (it may live only on the deploy host) unless `--require-files`."),
        rule("upstream-ca/key-match", .deny, 7, upstreamCAFile, nic: false,
             "disk authority: the key in `key_file_path` matches the certificate in `cert_file_path`."),
        rule("upstream-ca/pathlen", .deny, 7, upstreamCAFile, nic: false,
             "The certificate SPIRE signs with is a CA whose pathlen leaves room for SPIRE's intermediate (1 or more, or unset), and the CAs above it allow the chain below them."),
        rule("upstream-ca/chain", .deny, 7, upstreamCAFile, nic: false,
             "With `bundle_file_path` or `supplemental_bundle_path`: the signing certificate verifies up to a root in the bundle."),
        rule("upstream-ca/root-direct", .warn, 7, upstreamCAFile, nic: false,
             "The signing certificate is itself a self-signed root: production should sign with an intermediate and keep the root key offline."),
        rule("upstream-ca/expiry", .warn, 7, upstreamCAFile, nic: false,
             "As `secret/expiry`, for the certificates of the upstream CA file."),

        // 8. Deletes and updates
        rule("policy/in-use-delete", .deny, 8, policy, state: true, nic: false,
             "DELETE of a Policy referenced by an Ingress, VirtualServer or VirtualServerRoute of this controller's class: NIC would serve 500 there. The message lists the referencing objects. Fix: remove the references first."),
        rule("policy/in-use-update", .deny, 8, policy, state: true, nic: false,
             "UPDATE of a Policy such that an object referencing it would now break a deny rule (it becomes ingressMTLS while a referencing Ingress has no TLS, or a referencing VirtualServerRoute uses it in a subroute). The message lists those objects and the rule each would break."),
    ]

    private static let byID: [RuleID: RuleDescriptor] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

    /// The rule with this ID, or `nil` for an ID the catalogue does not define.
    public static func descriptor(for id: RuleID) -> RuleDescriptor? { byID[id] }

    /// Every rule ID, in document order.
    public static var ids: [RuleID] { all.map(\.id) }

    private static func rule(_ id: RuleID, _ severity: Severity, _ section: Int, _ kinds: [String],
                             state: Bool = false, nic: Bool, _ description: String) -> RuleDescriptor {
        RuleDescriptor(id: id, severity: severity, section: section, needsState: state, kinds: kinds,
                       checkedByController: nic, description: description)
    }
}
