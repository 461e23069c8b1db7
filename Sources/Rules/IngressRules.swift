import Foundation
import KubeModel

/// RULES.md §4: an Ingress's NIC annotations (no state) and the Policies it references (needs state).
public enum IngressRules {
    static let sslServicesKey = "nginx.org/ssl-services"
    static let grpcServicesKey = "nginx.org/grpc-services"
    static let mergeableTypeKey = "nginx.org/mergeable-ingress-type"
    /// Policy types NIC applies to an Ingress (anything else is "not supported" there).
    static let supportedPolicyTypes: Set<String> = ["accessControl", "cors", "externalAuth", "ingressMTLS", "egressMTLS", "waf"]

    /// Rule IDs of the reference rules, for `Evaluation.skippedStateRules`.
    public static let stateRuleIDs: [RuleID] = [
        "ingress/policy-ref", "ingress/policy-kind", "ingress-mtls/minion", "ingress-mtls/tls-required",
        "ingress-mtls/host-without-tls", "ingress-mtls/tls-secret", "ingress-mtls/multiple", "egress-mtls/multiple",
        "egress-mtls/upstream-tls", "egress-mtls/master",
    ]

    static func annotationPath(_ key: String) -> FieldPath {
        FieldPath("metadata", "annotations").key(key)
    }

    // MARK: Annotation rules

    /// ingress/policies-annotation, ingress/ssl-services, ingress/grpc-services, ingress/mergeable-type.
    public static func findings(_ ingress: IngressView) -> [Finding] {
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

        for key in PolicyAnnotation.keys {
            guard let value = meta.annotations[key] else { continue }
            if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                deny("ingress/policies-annotation", annotationPath(key),
                     FieldError.required("list Policies as name or namespace/name, separated by commas, or remove the annotation"))
                continue
            }
            let items = PolicyAnnotation.parse(value)
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

        let backendNames = Set(ingress.backendServiceNames)
        for (key, rule) in [(sslServicesKey, RuleID("ingress/ssl-services")), (grpcServicesKey, RuleID("ingress/grpc-services"))] {
            guard let value = meta.annotations[key] else { continue }
            let items = serviceList(value)
            if items.allSatisfy(\.isEmpty) {
                deny(rule, annotationPath(key), FieldError.required("list backend Service names separated by commas, or remove the annotation"))
                continue
            }
            if items.contains(where: \.isEmpty) {
                deny(rule, annotationPath(key), FieldError.invalid(value, "empty item: remove the extra comma"))
            }
            let unknown = items.filter { !$0.isEmpty && !backendNames.contains($0) }
            if !unknown.isEmpty {
                let known = backendNames.isEmpty ? "this Ingress has no service backends"
                    : "backends of this Ingress: " + ingress.backendServiceNames.joined(separator: ", ")
                deny(rule, annotationPath(key), FieldError.invalid(value,
                     "not a backend Service of this Ingress: \(unknown.joined(separator: ", ")) (\(known))"))
            }
        }

        if let type = meta.annotations[mergeableTypeKey] {
            findings += mergeableFindings(type, ingress: ingress)
        }
        return findings
    }

    static func serviceList(_ value: String) -> [String] {
        value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
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
            if ingress.hasTLSField {
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

    /// The Policies an Ingress references, in annotation order, with the annotation each came from.
    static func policyReferences(_ ingress: IngressView) -> [(annotation: String, key: ObjectKey)] {
        PolicyAnnotation.keys.flatMap { annotation in
            PolicyAnnotation.parse(ingress.annotations[annotation] ?? "").prefix(PolicyAnnotation.maximumItems).compactMap { item in
                item.key(defaultNamespace: ingress.namespace).map { (annotation, $0) }
            }
        }
    }

    /// Every §4 reference finding for `ingress`.
    public static func referenceFindings(_ ingress: IngressView, snapshot: any ClusterSnapshot, settings: Settings) -> [Finding] {
        let context = StateContext(snapshot: snapshot, settings: settings)
        var findings: [Finding] = []
        var ingressMTLS: [ResolvedPolicy] = []
        var egressMTLS: [ResolvedPolicy] = []
        var policiesPath = annotationPath(PolicyAnnotation.keys[0])

        for (annotation, key) in policyReferences(ingress) {
            let path = annotationPath(annotation)
            guard let policy = context.policy(key) else {
                findings.append(Finding(rule: "ingress/policy-ref", severity: context.missingSeverity, field: path,
                    message: StateContext.missingMessage(kind: "Policy", key: key,
                        consequence: "NIC serves 500 for every host of this Ingress")))
                continue
            }
            let unsupported = policy.view.setTypes.filter { !supportedPolicyTypes.contains($0) }
            if !unsupported.isEmpty {
                findings.append(Finding(rule: "ingress/policy-kind", severity: .deny, field: path,
                    message: FieldError.invalid(key.description, "Policy type \(unsupported.joined(separator: ", ")) is not supported on Ingress (supported: accessControl, cors, externalAuth, ingressMTLS, egressMTLS, waf)")))
            }
            guard policy.isValid else {
                findings.append(Finding(rule: "ingress/policy-ref", severity: .deny, field: path,
                    message: FieldError.invalid(key.description, "Policy is invalid: NIC serves 500 for every host of this Ingress; fix the Policy first")))
                continue
            }
            if policy.isIngressMTLS { ingressMTLS.append(policy); policiesPath = path }
            if policy.isEgressMTLS { egressMTLS.append(policy) }
        }

        let mergeableType = ingress.annotations[mergeableTypeKey]
        if let first = ingressMTLS.first {
            let name = FieldError.quote(first.key.description)
            if mergeableType == "minion" {
                findings.append(Finding(rule: "ingress-mtls/minion", severity: .deny, field: policiesPath,
                    message: FieldError.invalid(first.key.description, "a mergeable minion cannot use an ingressMTLS Policy (NIC serves 500 for its paths): reference it from the master")))
            } else {
                findings += tlsFindings(ingress, policyName: name, context: context)
            }
            if ingressMTLS.count > 1 {
                findings.append(Finding(rule: "ingress-mtls/multiple", severity: .warn, field: policiesPath,
                    message: "\(ingressMTLS.count) ingressMTLS Policies referenced (\(ingressMTLS.map(\.key.description).joined(separator: ", "))): only the first, \(name), applies"))
            }
        }

        if let first = egressMTLS.first {
            let path = annotationPath(PolicyAnnotation.keys[0])
            if egressMTLS.count > 1 {
                findings.append(Finding(rule: "egress-mtls/multiple", severity: .warn, field: path,
                    message: "\(egressMTLS.count) egressMTLS Policies referenced (\(egressMTLS.map(\.key.description).joined(separator: ", "))): only the first, \(FieldError.quote(first.key.description)), applies"))
            }
            if mergeableType == "master" {
                findings.append(Finding(rule: "egress-mtls/master", severity: .warn, field: path,
                    message: "egressMTLS on a mergeable master: NIC strips nginx.org/ssl-services from masters, so it only takes effect for minions that declare nginx.org/ssl-services"))
            } else {
                let tlsServices = Set(serviceList(ingress.annotations[sslServicesKey] ?? "") + serviceList(ingress.annotations[grpcServicesKey] ?? ""))
                var reported = Set<String>()
                for backend in ingress.backends {
                    guard let service = backend.serviceName, !tlsServices.contains(service), reported.insert(service).inserted else { continue }
                    findings.append(Finding(rule: "egress-mtls/upstream-tls", severity: .warn,
                        field: FieldPath(backend.path).child("service").child("name"),
                        message: "Service \(FieldError.quote(service)) is in neither nginx.org/ssl-services nor nginx.org/grpc-services: NGINX connects to it in plaintext and egressMTLS Policy \(FieldError.quote(first.key.description)) has no effect for it"))
                }
            }
        }
        return findings
    }

    /// ingress-mtls/tls-required, ingress-mtls/host-without-tls, ingress-mtls/tls-secret.
    static func tlsFindings(_ ingress: IngressView, policyName: String, context: StateContext) -> [Finding] {
        guard !ingress.tls.isEmpty else {
            return [Finding(rule: "ingress-mtls/tls-required", severity: .deny, field: FieldPath("spec", "tls"),
                message: FieldError.required("ingressMTLS Policy \(policyName) needs TLS: add spec.tls with the hosts of this Ingress (NIC serves 500 for all of them otherwise)"))]
        }
        var findings: [Finding] = []
        // Hash sets instead of comparing every rule host with every TLS host: linear in hosts.
        var tlsHosts = Set<String>(), tlsWildcardDomains = Set<String>()
        for entry in ingress.tls {
            for pattern in entry.hosts.map({ $0.lowercased() }) {
                tlsHosts.insert(pattern)
                if pattern.hasPrefix("*.") { tlsWildcardDomains.insert(String(pattern.dropFirst(2))) }
            }
        }
        var ruleHosts = Set<String>(), ruleHostDomains = Set<String>()
        for (index, rule) in ingress.rules.enumerated() {
            guard let host = rule.host?.lowercased(), !host.isEmpty else { continue }
            ruleHosts.insert(host)
            let domain = parentDomain(host)
            if let domain { ruleHostDomains.insert(domain) }
            if !tlsHosts.contains(host) && !(domain.map(tlsWildcardDomains.contains) ?? false) {
                findings.append(Finding(rule: "ingress-mtls/host-without-tls", severity: .deny,
                    field: FieldPath("spec", "rules").index(index).child("host"),
                    message: FieldError.invalid(rule.host ?? host, "not covered by any spec.tls[].hosts entry: NIC would serve it without client certificate verification; add it to spec.tls")))
            }
        }
        let coveringEntries = ingress.tls.indices.filter { entry in
            ingress.tls[entry].hosts.contains { pattern in
                let pattern = pattern.lowercased()
                return ruleHosts.contains(pattern) || (pattern.hasPrefix("*.") && ruleHostDomains.contains(String(pattern.dropFirst(2))))
            }
        }
        for index in coveringEntries.sorted() {
            let path = FieldPath("spec", "tls").index(index).child("secretName")
            switch ingress.tls[index].secretName {
            case .absent:
                findings.append(Finding(rule: "ingress-mtls/tls-secret", severity: .deny, field: path,
                    message: FieldError.required("name the kubernetes.io/tls Secret for the hosts protected by ingressMTLS Policy \(policyName)")))
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

    /// What a `*.domain` pattern must name to cover `host`: the host without its first label, when that
    /// label is not empty.
    static func parentDomain(_ host: String) -> String? {
        guard let dot = host.firstIndex(of: "."), dot != host.startIndex else { return nil }
        return String(host[host.index(after: dot)...])
    }
}
