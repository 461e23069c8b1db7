import Foundation
import KubeModel

/// Section 4 of docs/rules.md: an Ingress's NIC annotations (no state) and the Policies it references
/// (needs state), decided as NIC v5.5 decides them.
public enum IngressRules {
    static let sslServicesKey = "nginx.org/ssl-services"
    static let grpcServicesKey = "nginx.org/grpc-services"
    static let mergeableTypeKey = "nginx.org/mergeable-ingress-type"
    /// Policy types NIC applies to an Ingress (`IsPolicySupportedOnIngress`); anything else is "not supported" there.
    static let supportedPolicyTypes: [String] = ["accessControl", "cors", "externalAuth", "ingressMTLS", "egressMTLS", "waf"]

    /// Rule IDs of the reference rules, for `Evaluation.skippedStateRules`.
    public static let stateRuleIDs: [RuleID] = [
        "ingress/policy-ref", "ingress/policy-kind", "ingress-mtls/minion", "ingress-mtls/tls-required",
        "ingress-mtls/host-without-tls", "ingress-mtls/tls-secret", "ingress-mtls/multiple", "egress-mtls/multiple",
        "egress-mtls/upstream-tls", "egress-mtls/grpc-server-scope", "egress-mtls/master",
        "ingress-mtls/foreign-client-auth",
    ]

    static func annotationPath(_ key: String) -> FieldPath {
        annotationsPath.key(key)
    }

    private static let annotationsPath = FieldPath("metadata", "annotations")

    // MARK: Annotation rules

    /// ingress/policies-annotation, ingress/ssl-services, ingress/grpc-services, ingress/mergeable-type, and the
    /// annotations of ingress-nginx that need no state.
    public static func findings(_ ingress: IngressView) -> [Finding] {
        findings(ingress, policies: PolicyAnnotation.Lists(ingress.annotations))
    }

    /// The same, with the policies annotations already parsed (`RuleEngine` parses them once per review).
    static func findings(_ ingress: IngressView, policies: PolicyAnnotation.Lists) -> [Finding] {
        var findings: [Finding] = []
        let meta = ingress.metadata
        func deny(_ rule: RuleID, _ field: FieldPath, _ message: String) {
            findings.append(Finding(rule: rule, severity: .deny, field: field, message: message))
        }
        let annotationRules: [(String, RuleID)] = PolicyAnnotation.keys.map { ($0, "ingress/policies-annotation") }
            + [(sslServicesKey, "ingress/ssl-services"), (grpcServicesKey, "ingress/grpc-services"),
               (mergeableTypeKey, "ingress/mergeable-type")]
        for (key, rule) in annotationRules {
            if let raw = meta.malformedAnnotations[key] {
                deny(rule, annotationPath(key), FieldError.wrongType(raw, expected: "a string", hint: "quote the annotation value"))
            }
        }

        for (key, value, items) in policies.entries {
            if PolicyAnnotation.trimmed(Substring(value)).isEmpty {
                deny("ingress/policies-annotation", annotationPath(key),
                     FieldError.required("list Policies as name or namespace/name, separated by commas, or remove the annotation"))
                continue
            }
            if items.count > PolicyAnnotation.maximumItems {
                deny("ingress/policies-annotation", annotationPath(key), FieldError.invalid(value,
                     "\(items.count) items listed; at most \(PolicyAnnotation.maximumItems) Policies may be referenced"))
            }
            for item in items.prefix(PolicyAnnotation.maximumItems) {
                if let problem = item.problem {
                    deny("ingress/policies-annotation", annotationPath(key), FieldError.invalid(value, problem))
                }
            }
        }

        for (key, rule) in [(sslServicesKey, RuleID("ingress/ssl-services")), (grpcServicesKey, RuleID("ingress/grpc-services"))] {
            guard let value = meta.annotations[key] else { continue }
            if let message = serviceListProblem(value, key: key, ingress: ingress) {
                deny(rule, annotationPath(key), message)
            }
        }

        if let type = meta.annotations[mergeableTypeKey] {
            findings += mergeableFindings(type, ingress: ingress)
        }
        findings += ForeignAnnotationRules.findings(ingress)
        return findings
    }

    /// The items of a service-list annotation exactly as NIC's `ParseServiceList` reads them: split at
    /// commas and NOT trimmed, so `tea-svc, coffee-svc` names ` coffee-svc`.
    static func serviceList(_ value: String) -> [String] {
        PolicyAnnotation.commaSeparated(value).map(String.init)
    }

    /// Why NIC rejects this `nginx.org/ssl-services` / `nginx.org/grpc-services` value, or `nil`
    /// (`validateRequiredAnnotation`, `validateServiceListAnnotation`; a master's are stripped by `filterMasterAnnotations`).
    static func serviceListProblem(_ value: String, key: String, ingress: IngressView) -> String? {
        if value.isEmpty {
            return FieldError.required("list backend Service names separated by commas (no spaces), or remove the annotation")
        }
        if ingress.annotations[mergeableTypeKey] == "master" {
            return "Forbidden: a mergeable master has no backends and NIC removes \(key) from it: put the annotation on the minions whose paths route to these Services"
        }
        // Every item a backend's Service, as nearly always: for a few items and backends, a scan
        // answers without the sets and lists the explanation needs.
        let items = PolicyAnnotation.commaSeparated(value)
        let backendCount = ingress.rules.reduce(ingress.defaultBackend == nil ? 0 : 1) { $0 + $1.paths.count }
        if items.count * backendCount <= scannedPairs, items.allSatisfy({ isBackendService(String($0), of: ingress) }) {
            return nil
        }
        let backendNames = ingress.backendServiceNames
        let backendSet = Set(backendNames)
        var unknownItems = DistinctList<String>()
        for item in serviceList(value) where !backendSet.contains(item) { unknownItems.insert(item) }
        let unknown = unknownItems.elements
        guard !unknown.isEmpty else { return nil }
        var hints: [String] = []
        if unknown.contains(where: \.isEmpty) { hints.append("remove the empty item (extra comma)") }
        if unknown.contains(where: { !$0.isEmpty && backendSet.contains(PolicyAnnotation.trimmed($0[...])) }) {
            hints.append("NIC does not trim names: remove the spaces around the commas")
        }
        let known = backendNames.isEmpty ? "this Ingress has no service backends"
            : "backends of this Ingress: " + boundedList(backendNames.map { String($0.prefix(64)) })
        let listed = boundedList(unknown.map { FieldError.quote(String($0.prefix(64))) })
        return "Invalid value: not a backend Service of this Ingress: \(listed) (\(known)); NIC rejects the whole Ingress"
            + (hints.isEmpty ? "" : ": " + hints.joined(separator: "; "))
    }

    private static func isBackendService(_ name: String, of ingress: IngressView) -> Bool {
        if ingress.defaultBackend?.serviceName == name { return true }
        return ingress.rules.contains { rule in rule.paths.contains { $0.backend.serviceName == name } }
    }

    static func mergeableFindings(_ type: String, ingress: IngressView) -> [Finding] {
        var findings: [Finding] = []
        func deny(_ field: FieldPath, _ message: String) {
            findings.append(Finding(rule: "ingress/mergeable-type", severity: .deny, field: field, message: message))
        }
        switch type {
        case "master":
            if ingress.rules.count != 1 {
                deny(FieldPath("spec", "rules"), FieldError.invalid(String(ingress.rules.count),
                     "a mergeable master must have exactly one rule (one host)"))
            }
            for (index, rule) in ingress.rules.enumerated() where !rule.paths.isEmpty {
                deny(FieldPath("spec", "rules").index(index).child("http"),
                     FieldError.invalid("\(rule.paths.count) paths", "a mergeable master must not have paths: move them to minions"))
            }
        case "minion":
            // NIC's `validateMinionSpec`: `len(spec.TLS) > 0`, so `tls: []` is fine.
            if !ingress.tls.isEmpty {
                deny(FieldPath("spec", "tls"), "Forbidden: a mergeable minion must not set spec.tls: TLS belongs to its master")
            }
            if ingress.rules.count != 1 {
                deny(FieldPath("spec", "rules"), FieldError.invalid(String(ingress.rules.count),
                     "a mergeable minion must have exactly one rule (the master's host)"))
            }
            for (index, rule) in ingress.rules.enumerated() where rule.paths.isEmpty {
                deny(FieldPath("spec", "rules").index(index).child("http").child("paths"),
                     FieldError.required("a mergeable minion must have at least one path"))
            }
        default:
            deny(annotationPath(mergeableTypeKey), FieldError.unsupported(type, supported: ["master", "minion"]))
        }
        return findings
    }

    // MARK: Reference rules

    /// Every section 4 reference finding for `ingress`.
    public static func referenceFindings(_ ingress: IngressView, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        referenceFindings(ingress, policies: PolicyAnnotation.Lists(ingress.annotations), snapshot: snapshot, settings: settings)
    }

    /// The same, with the policies annotations already parsed. Paths and quoted names are rendered
    /// only for a finding: most reviews have none.
    static func referenceFindings(_ ingress: IngressView, policies: PolicyAnnotation.Lists,
                                  snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let context = StateContext(snapshot: snapshot, settings: settings)
        var findings: [Finding] = []
        var ingressMTLS: [ResolvedPolicy] = []
        var egressMTLS: [(annotation: String, policy: ResolvedPolicy)] = []
        var policiesAnnotation = PolicyAnnotation.keys[0]
        var referencesIngressMTLS: Bool? = false

        for (annotation, key) in PolicyAnnotation.references(in: policies, namespace: ingress.namespace) {
            var path: FieldPath { annotationPath(annotation) }
            guard let policy = context.policy(key) else {
                findings.append(Finding(rule: "ingress/policy-ref", severity: context.missingSeverity, field: path,
                    message: StateContext.missingMessage(kind: "Policy", key: key,
                        consequence: "NIC serves 500 for every host of this Ingress")))
                // Its type is unknown: whether an ingress-nginx client-auth annotation is covered cannot be told.
                if referencesIngressMTLS == false { referencesIngressMTLS = nil }
                continue
            }
            if policy.view.setTypes.contains("ingressMTLS") { referencesIngressMTLS = true }
            let unsupported = policy.view.setTypes.filter { !supportedPolicyTypes.contains($0) }
            if !unsupported.isEmpty {
                findings.append(Finding(rule: "ingress/policy-kind", severity: .deny, field: path,
                    message: FieldError.invalid(key.description, "Policy type \(boundedList(unsupported.map { String($0.prefix(64)) })) is not supported on Ingress: NIC serves 500 for every host of this Ingress; on an Ingress NIC applies only \(supportedPolicyTypes.joined(separator: ", ")) (use a VirtualServer for the others)")))
            } else if policy.view.setTypes.contains("waf"), annotation == PolicyAnnotation.keys[0] {
                // NIC's `filterIngressPolicyRefs`: WAF Policies only through nginx.com/policies.
                findings.append(Finding(rule: "ingress/policy-kind", severity: .deny, field: path,
                    message: FieldError.invalid(key.description, "a waf Policy is not supported in nginx.org/policies: NIC serves 500 for every host of this Ingress; reference it in nginx.com/policies")))
            }
            if let reason = policy.unusableReason(consequence: "NIC serves 500 for every host of this Ingress") {
                findings.append(Finding(rule: "ingress/policy-ref", severity: .deny, field: path,
                    message: FieldError.invalid(key.description, reason)))
                continue
            }
            if policy.isIngressMTLS { ingressMTLS.append(policy); policiesAnnotation = annotation }
            if policy.isEgressMTLS { egressMTLS.append((annotation, policy)) }
        }

        let mergeableType = ingress.annotations[mergeableTypeKey]
        var policiesPath: FieldPath { annotationPath(policiesAnnotation) }
        if let first = ingressMTLS.first {
            var name: String { FieldError.quote(first.key.description) }
            if mergeableType == "minion" {
                findings.append(Finding(rule: "ingress-mtls/minion", severity: .deny, field: policiesPath,
                    message: FieldError.invalid(first.key.description, "a mergeable minion cannot use an ingressMTLS Policy (NIC serves 500 for its paths): reference it from the master")))
            } else {
                findings += tlsFindings(ingress, policyName: name, context: context)
            }
            if ingressMTLS.count > 1 {
                findings.append(Finding(rule: "ingress-mtls/multiple", severity: .warn, field: policiesPath,
                    message: "\(ingressMTLS.count) ingressMTLS Policies referenced (\(boundedList(ingressMTLS.map(\.key.description)))): only the first, \(name), applies"))
            }
        }

        if let (annotation, first) = egressMTLS.first.map({ ($0.annotation, $0.policy) }) {
            let path = annotationPath(annotation)
            let name = FieldError.quote(first.key.description)
            if egressMTLS.count > 1 {
                findings.append(Finding(rule: "egress-mtls/multiple", severity: .warn, field: path,
                    message: "\(egressMTLS.count) egressMTLS Policies referenced (\(boundedList(egressMTLS.map(\.policy.key.description)))): only the first, \(name), applies"))
            }
            if mergeableType == "master" {
                findings.append(Finding(rule: "egress-mtls/master", severity: .warn, field: path,
                    message: "egressMTLS Policy \(name) on a mergeable master: NIC strips nginx.org/ssl-services from masters, so it only takes effect for minions that declare nginx.org/ssl-services, and it is rendered at server scope (proxy_ssl_*), which gRPC minion locations do not use; reference it from the minions instead"))
            } else {
                findings += upstreamTLSFindings(ingress, policyName: name, policyPath: path, isMinion: mergeableType == "minion")
            }
        }

        if let referencesIngressMTLS, policies.isPresent,
           ForeignAnnotationRules.hasIngressNginxAnnotation(ingress.annotations) {
            findings += ForeignAnnotationRules.clientAuthFindings(ingress, referencesIngressMTLS: referencesIngressMTLS)
        }
        return findings
    }

    /// egress-mtls/upstream-tls and, outside minions, egress-mtls/grpc-server-scope.
    ///
    /// Only nginx.org/ssl-services makes NIC connect with TLS (`isSSLEnabled`); nginx.org/grpc-services alone
    /// renders `grpc://`. Outside a minion the Policy is rendered at server scope as `proxy_ssl_*`, which gRPC
    /// locations do not read (`nginx.ingress.tmpl`); a minion's locations get `grpc_ssl_*`.
    static func upstreamTLSFindings(_ ingress: IngressView, policyName: String, policyPath: FieldPath, isMinion: Bool) -> [Finding] {
        var findings: [Finding] = []
        let tlsServices = Set(ingress.annotations[sslServicesKey].map(serviceList) ?? [])
        let grpcServices = Set(ingress.annotations[grpcServicesKey].map(serviceList) ?? [])
        var reported = Set<String>()
        for backend in ingress.backends {
            guard let service = backend.serviceName, !tlsServices.contains(service), reported.insert(service).inserted else { continue }
            let quoted = FieldError.quote(String(service.prefix(64)))
            let message = grpcServices.contains(service)
                ? "Service \(quoted) is in nginx.org/grpc-services but not in nginx.org/ssl-services: NIC renders grpc:// (plaintext) for it and egressMTLS Policy \(policyName) has no effect; a TLS gRPC backend needs both annotations: add it to nginx.org/ssl-services"
                : "Service \(quoted) is not in nginx.org/ssl-services: NGINX connects to it in plaintext and egressMTLS Policy \(policyName) has no effect for it; add it to nginx.org/ssl-services"
            findings.append(Finding(rule: "egress-mtls/upstream-tls", severity: .warn,
                field: FieldPath(backend.path).child("service").child("name"), message: message))
        }
        if !isMinion {
            let grpcBackends = ingress.backendServiceNames.filter(grpcServices.contains)
            if !grpcBackends.isEmpty {
                findings.append(Finding(rule: "egress-mtls/grpc-server-scope", severity: .warn, field: policyPath,
                    message: "egressMTLS Policy \(policyName) is rendered at server scope as proxy_ssl_* on this Ingress, which gRPC locations do not use: gRPC backend(s) \(boundedList(grpcBackends.map { FieldError.quote(String($0.prefix(64))) })) get none of its settings; reference the Policy from a mergeable minion that routes to them (location scope renders grpc_ssl_*)"))
            }
        }
        return findings
    }

    /// ingress-mtls/tls-required, ingress-mtls/host-without-tls, ingress-mtls/tls-secret.
    ///
    /// As NIC's `addSSLConfig`: a rule host is covered by a `spec.tls` entry that lists it by exact string
    /// (no wildcard matching; an entry without hosts covers nothing), and of several such entries the last
    /// one's `secretName` is used. `tls` present but empty counts as absent (the API server drops it).
    static func tlsFindings(_ ingress: IngressView, policyName: @autoclosure () -> String, context: StateContext) -> [Finding] {
        guard !ingress.tls.isEmpty else {
            return [Finding(rule: "ingress-mtls/tls-required", severity: .deny, field: FieldPath("spec", "tls"),
                message: FieldError.required("ingressMTLS Policy \(policyName()) needs TLS: add spec.tls with the hosts of this Ingress (NIC serves 500 for all of them otherwise)"))]
        }
        var findings: [Finding] = []
        // The last entry naming each host (NIC's `addSSLConfig` lets a later entry win). A scan for
        // the few hosts of most Ingresses; past `scannedPairs` rule x TLS host pairs, one pass over
        // spec.tls into a dictionary, so checking the rule hosts stays linear.
        let tlsHosts = ingress.tls.reduce(0) { $0 + $1.hosts.count }
        let indexed = ingress.rules.count * tlsHosts > Self.scannedPairs ? TLSCoverage(ingress.tls) : nil
        var used = [Bool](repeating: false, count: ingress.tls.count)
        for (index, rule) in ingress.rules.enumerated() {
            guard let host = rule.host, !host.isEmpty else { continue }
            let entry = indexed.map { $0.lastEntry[host] } ?? ingress.tls.lastIndex { $0.hosts.contains(host) }
            guard let entry else {
                findings.append(Finding(rule: "ingress-mtls/host-without-tls", severity: .deny,
                    field: FieldPath("spec", "rules").index(index).child("host"),
                    message: hostWithoutTLSMessage(host, coverage: indexed ?? TLSCoverage(ingress.tls))))
                continue
            }
            used[entry] = true
        }
        for index in ingress.tls.indices where used[index] {
            var path: FieldPath { FieldPath("spec", "tls").index(index).child("secretName") }
            switch PolicyRules.unsetIfEmpty(ingress.tls[index].secretName) {
            case .absent:
                // NIC's `addSSLConfig` serves these hosts with the -wildcard-tls-secret certificate, when it has one.
                if !context.settings.nicWildcardTLS {
                    findings.append(Finding(rule: "ingress-mtls/tls-secret", severity: .deny, field: path,
                        message: FieldError.required("name the kubernetes.io/tls Secret for the hosts protected by ingressMTLS Policy \(policyName()) (NIC rejects their TLS handshakes otherwise); if NIC runs with -wildcard-tls-secret, run mtls-guard with --nic-wildcard-tls")))
                }
            case .wrongType(let raw):
                findings.append(Finding(rule: "ingress-mtls/tls-secret", severity: .deny, field: path,
                    message: FieldError.wrongType(raw, expected: "a string")))
            case .value(let name):
                findings += context.tlsSecretFindings(rule: "ingress-mtls/tls-secret", field: path,
                    key: ObjectKey(namespace: ingress.namespace, name: name), consequence: "NIC serves 500 for these hosts")
            }
        }
        return findings
    }

    /// Up to this many rule x TLS host pairs, `tlsFindings` scans `spec.tls` instead of indexing it.
    static let scannedPairs = 256

    /// What `spec.tls` covers, read once: the last entry naming each host, and what explains a miss.
    struct TLSCoverage {
        var lastEntry: [String: Int] = [:]
        /// The first `*.domain` pattern per domain, with its entry.
        var firstWildcard: [Substring: (entry: Int, pattern: String)] = [:]
        /// The first entry without hosts.
        var firstEmptyEntry: Int?

        init(_ tls: [IngressView.TLS]) {
            for (index, entry) in tls.enumerated() {
                if entry.hosts.isEmpty, firstEmptyEntry == nil { firstEmptyEntry = index }
                for host in entry.hosts {
                    lastEntry[host] = index
                    if host.hasPrefix("*."), firstWildcard[host.dropFirst(2)] == nil {
                        firstWildcard[host.dropFirst(2)] = (index, host)
                    }
                }
            }
        }
    }

    /// Says which `spec.tls` entry to add `host` to, and why a near miss does not count.
    static func hostWithoutTLSMessage(_ host: String, coverage: TLSCoverage) -> String {
        let shown = String(host.prefix(128))
        var why = ""
        var target = 0
        // A `*.domain` pattern a TLS certificate would match `host` with (one more label). NIC does not
        // match this way; used only to explain a miss.
        let nearMiss = host.firstIndex(of: ".").flatMap { dot in
            dot == host.startIndex ? nil : coverage.firstWildcard[host[host.index(after: dot)...]]
        }
        if let nearMiss {
            target = nearMiss.entry
            why = "; NIC compares hosts by exact string, so \(FieldError.quote(String(nearMiss.pattern.prefix(128)))) in spec.tls[\(nearMiss.entry)].hosts does not cover it"
        } else if let entry = coverage.firstEmptyEntry {
            target = entry
            why = "; spec.tls[\(entry)] has no hosts and covers nothing"
        }
        return FieldError.invalid(shown, "not in any spec.tls[].hosts entry: NIC serves this host WITHOUT client certificate verification\(why); add \(FieldError.quote(shown)) to spec.tls[\(target)].hosts")
    }
}
