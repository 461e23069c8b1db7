import Foundation
import KubeModel

/// Section 5 of docs/rules.md: policy references of VirtualServers and VirtualServerRoutes.
public enum VirtualServerRules {
    /// Rule IDs of the reference rules, for `Evaluation.skippedStateRules`.
    public static let stateRuleIDs: [RuleID] = [
        "vs/policy-ref", "ingress-mtls/route-scope", "ingress-mtls/vs-tls-required", "ingress-mtls/vs-tls-secret",
        "egress-mtls/vs-upstream-tls", "egress-mtls/grpc-server-scope", "ingress-mtls/multiple", "egress-mtls/multiple",
    ]

    /// One `policies` list and where it sits.
    struct PolicyList {
        var path: String
        var entries: [PolicyReferenceView]
        /// `spec.policies` of a VirtualServer, the only place ingressMTLS is allowed.
        var isServerScope: Bool
    }

    static func policyLists(_ vs: VirtualServerView) -> [PolicyList] {
        [PolicyList(path: "spec.policies", entries: vs.policies, isServerScope: true)]
            + vs.routes.map { PolicyList(path: $0.policiesPath, entries: $0.policies, isServerScope: false) }
    }

    static func policyLists(_ vsr: VirtualServerRouteView) -> [PolicyList] {
        vsr.subroutes.map { PolicyList(path: $0.policiesPath, entries: $0.policies, isServerScope: false) }
    }

    // MARK: vs/policy-ref-format

    /// vs/policy-ref-format for a VirtualServer.
    public static func findings(_ vs: VirtualServerView) -> [Finding] {
        formatFindings(policyLists(vs), shapeProblems: vs.shapeProblems, namespace: vs.namespace)
    }

    /// vs/policy-ref-format for a VirtualServerRoute.
    public static func findings(_ vsr: VirtualServerRouteView) -> [Finding] {
        formatFindings(policyLists(vsr), shapeProblems: vsr.shapeProblems, namespace: vsr.namespace)
    }

    static func formatFindings(_ lists: [PolicyList], shapeProblems: [ShapeProblem], namespace: String) -> [Finding] {
        var findings: [Finding] = []
        func deny(_ path: String, _ message: String) {
            findings.append(Finding(rule: "vs/policy-ref-format", severity: .deny, field: FieldPath(path), message: message))
        }
        // A policies list (or one of its entries) of the wrong shape is dropped by the view: say so.
        for problem in shapeProblems where problem.path.contains(".policies") {
            deny(problem.path, problem.message)
        }
        for list in lists {
            var seen = Set<ObjectKey>()
            for entry in list.entries {
                switch entry.name {
                case .absent:
                    deny(entry.path + ".name", FieldError.required("name of the Policy"))
                case .wrongType(let raw):
                    deny(entry.path + ".name", FieldError.wrongType(raw, expected: "a string"))
                case .value(let name):
                    if let problem = NameValidation.dns1123SubdomainProblem(name) {
                        deny(entry.path + ".name", FieldError.invalid(name, problem))
                    }
                }
                switch entry.namespace {
                case .absent:
                    break
                case .wrongType(let raw):
                    deny(entry.path + ".namespace", FieldError.wrongType(raw, expected: "a string"))
                case .value(let value):
                    if let problem = NameValidation.dns1123LabelProblem(value) {
                        deny(entry.path + ".namespace", FieldError.invalid(value, problem))
                    }
                }
                if let key = entry.objectKey(defaultNamespace: namespace), !seen.insert(key).inserted {
                    deny(entry.path, "Duplicate value: \(FieldError.quote(key.description)): reference each Policy once per list")
                }
            }
        }
        return findings
    }

    // MARK: Reference rules

    /// Every section 5 reference finding for a VirtualServer.
    public static func referenceFindings(_ vs: VirtualServerView, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let context = StateContext(snapshot: snapshot, settings: settings)
        var findings: [Finding] = []
        let resolved = resolve(policyLists(vs), namespace: vs.namespace, context: context, findings: &findings)
        let serverScope = resolved.first ?? []

        if let ingress = serverScope.first(where: { $0.policy.isIngressMTLS }) {
            let path = FieldPath("spec", "tls", "secret")
            let policyName = FieldError.quote(ingress.policy.key.description)
            let required = FieldError.required("ingressMTLS Policy \(policyName) needs TLS: set spec.tls.secret to a kubernetes.io/tls Secret (NIC serves 500 otherwise); if NIC runs with -wildcard-tls-secret, tls: {} is enough and mtls-guard needs --nic-wildcard-tls")
            // NIC's `generateSSLConfig`: no `tls` is no TLS; `tls` without a secret is TLS with the
            // -wildcard-tls-secret certificate when NIC has one, else no TLS.
            switch PolicyRules.unsetIfEmpty(vs.tlsSecret) {
            case .absent where vs.hasTLS && context.settings.nicWildcardTLS:
                break
            case .absent:
                findings.append(Finding(rule: "ingress-mtls/vs-tls-required", severity: .deny, field: path, message: required))
            case .wrongType(let raw):
                findings.append(Finding(rule: "ingress-mtls/vs-tls-required", severity: .deny, field: path,
                    message: FieldError.wrongType(raw, expected: "a string")))
            case .value(let name):
                findings += context.tlsSecretFindings(rule: "ingress-mtls/vs-tls-secret", field: path,
                    key: ObjectKey(namespace: vs.namespace, name: name), consequence: "NIC serves 500 for this VirtualServer")
            }
        }

        let serverEgress = serverScope.first(where: { $0.policy.isEgressMTLS })
        if let serverEgress, let grpc = vs.upstreams.first(where: \.isGRPC) {
            findings.append(Finding(rule: "egress-mtls/grpc-server-scope", severity: .warn, field: FieldPath(serverEgress.entry.path),
                message: "egressMTLS Policy \(FieldError.quote(serverEgress.policy.key.description)) in spec.policies is not applied to gRPC upstream \(FieldError.quote(grpc.name ?? "")): attach it to the routes instead"))
        }
        for (index, route) in vs.routes.enumerated() {
            let routeEgress = resolved[index + 1].first(where: { $0.policy.isEgressMTLS }) ?? serverEgress
            findings += upstreamTLSFindings(route, egress: routeEgress, upstreams: vs.upstreams)
        }
        return findings
    }

    /// Every section 5 reference finding for a VirtualServerRoute.
    public static func referenceFindings(_ vsr: VirtualServerRouteView, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let context = StateContext(snapshot: snapshot, settings: settings)
        var findings: [Finding] = []
        let resolved = resolve(policyLists(vsr), namespace: vsr.namespace, context: context, findings: &findings)
        for (index, subroute) in vsr.subroutes.enumerated() {
            // Server-scope policies live in the VirtualServer that delegates here; only subroute ones are known.
            findings += upstreamTLSFindings(subroute, egress: resolved[index].first(where: { $0.policy.isEgressMTLS }),
                                            upstreams: vsr.upstreams)
        }
        return findings
    }

    struct ResolvedEntry {
        var entry: PolicyReferenceView
        var policy: ResolvedPolicy
    }

    /// vs/policy-ref, ingress-mtls/route-scope and the */multiple rules, list by list; returns the usable Policies of each list.
    static func resolve(_ lists: [PolicyList], namespace: String, context: StateContext, findings: inout [Finding]) -> [[ResolvedEntry]] {
        lists.map { list in
            var usable: [ResolvedEntry] = []
            for entry in list.entries {
                guard let key = entry.objectKey(defaultNamespace: namespace),
                      NameValidation.dns1123SubdomainProblem(key.name) == nil else { continue }
                let path = FieldPath(entry.path)
                guard let policy = context.policy(key) else {
                    findings.append(Finding(rule: "vs/policy-ref", severity: context.missingSeverity, field: path,
                        message: StateContext.missingMessage(kind: "Policy", key: key, consequence: "NIC serves 500 where it applies")))
                    continue
                }
                if let reason = policy.unusableReason(consequence: "NIC serves 500 where it applies") {
                    findings.append(Finding(rule: "vs/policy-ref", severity: .deny, field: path,
                        message: FieldError.invalid(key.description, reason)))
                    continue
                }
                if policy.isIngressMTLS, !list.isServerScope {
                    findings.append(Finding(rule: "ingress-mtls/route-scope", severity: .deny, field: path,
                        message: FieldError.invalid(key.description, "an ingressMTLS Policy is allowed only in the VirtualServer's spec.policies: move it there")))
                    continue
                }
                usable.append(ResolvedEntry(entry: entry, policy: policy))
            }
            for (rule, kind, matches) in [
                (RuleID("ingress-mtls/multiple"), "ingressMTLS", usable.filter { $0.policy.isIngressMTLS }),
                (RuleID("egress-mtls/multiple"), "egressMTLS", usable.filter { $0.policy.isEgressMTLS }),
            ] where matches.count > 1 {
                findings.append(Finding(rule: rule, severity: .warn, field: FieldPath(matches[1].entry.path),
                    message: "\(matches.count) \(kind) Policies in \(list.path) (\(matches.map(\.policy.key.description).joined(separator: ", "))): only the first, \(FieldError.quote(matches[0].policy.key.description)), applies"))
            }
            return usable
        }
    }

    /// egress-mtls/vs-upstream-tls for one route or subroute.
    static func upstreamTLSFindings(_ route: RouteView, egress: ResolvedEntry?, upstreams: [UpstreamView]) -> [Finding] {
        guard let egress, let name = route.upstreamName,
              let upstream = upstreams.first(where: { $0.name == name }), !upstream.tlsEnabled else { return [] }
        return [Finding(rule: "egress-mtls/vs-upstream-tls", severity: .warn, field: FieldPath(route.upstreamNamePath),
            message: "upstream \(FieldError.quote(name)) lacks tls.enable: true: NGINX connects to it in plaintext and egressMTLS Policy \(FieldError.quote(egress.policy.key.description)) has no effect; set \(upstream.path).tls.enable: true")]
    }
}
