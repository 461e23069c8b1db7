import Certificates
import Foundation
import KubeModel
import TestSupport
import Testing
@testable import Rules

/// Hostile objects cost bounded time and produce a bounded answer: the webhook answers within the API
/// server's timeout and its answer, warnings and audit line stay small whatever the input.
///
/// The limits are generous CPU times of the evaluating thread (debug build, shared machine): each
/// input here took 3 to 40 s before the checks were made linear.
@Suite struct BoundedWorkTests {
    /// Bytes of every message and field of an evaluation: what the answer and the audit line carry.
    static func answerSize(_ evaluation: Evaluation) -> Int {
        evaluation.findings.reduce(0) { $0 + $1.message.utf8.count + $1.field.description.utf8.count + $1.rule.rawValue.utf8.count }
    }

    /// The findings and the CPU time of evaluating `object` against `state`.
    static func timed(_ object: KubeObject, state: [KubeObject]?) -> (Evaluation, Duration) {
        var evaluation: Evaluation?
        let elapsed = threadCPUTime { evaluation = Fixture.evaluate(object, state: state) }
        return (evaluation ?? Evaluation(findings: []), elapsed)
    }

    static let maximumAnswer = 64 * 1024

    @Test func quoteKeepsAPrefixAndCountsTheRest() {
        let long = String(repeating: "x", count: 10_000)
        let quoted = FieldError.quote(long)
        #expect(quoted.count < 120)
        #expect(quoted.hasPrefix("\"" + String(repeating: "x", count: FieldError.quotedPrefixLength) + "...\""))
        #expect(quoted.hasSuffix("(+\(10_000 - FieldError.quotedPrefixLength) more characters)"))
        #expect(FieldError.quote("short\n") == "\"short\\n\"")
    }

    @Test func manyInvalidPolicyItemsGiveABoundedAnswer() throws {
        let value = (0..<6_000).map { "Bad_\($0)" }.joined(separator: ",")
        let ingress = try Fixture.ingress(policies: value)
        let (evaluation, elapsed) = Self.timed(ingress, state: [])
        #expect(evaluation.hasDenials)
        #expect(evaluation.findings.with(rule: "ingress/policies-annotation").count <= Evaluation.maximumFindingsPerRule + 1)
        #expect(evaluation.findings.contains { $0.message.contains("6000 items listed") })
        #expect(Self.answerSize(evaluation) < Self.maximumAnswer)
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }

    @Test func manyValidPolicyNamesAreCappedNotResolvedOneByOne() throws {
        let value = (0..<100_000).map { "p\($0)" }.joined(separator: ",")
        let ingress = try Fixture.ingress(policies: value)
        let (evaluation, elapsed) = Self.timed(ingress, state: [])
        #expect(evaluation.findings.denies.with(rule: "ingress/policies-annotation").count == 1)
        #expect(evaluation.findings.with(rule: "ingress/policy-ref").count <= Evaluation.maximumFindingsPerRule + 1)
        #expect(Self.answerSize(evaluation) < Self.maximumAnswer)
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    /// The reference index (the live view's referrers, and the Policies it fetches when they are
    /// missing) takes from each annotation the items the rules resolve, no more.
    @Test func indexedPolicyReferencesAreCappedLikeTheRules() throws {
        let value = (0..<1_000).map { "p\($0)" }.joined(separator: ",")
        let ingress = try Fixture.ingress(policies: value)
        let keys = ReferenceIndex.policies(of: ingress)
        #expect(keys.count == PolicyAnnotation.maximumItems)
        #expect(keys.first == ObjectKey(namespace: "ns", name: "p0"))
        #expect(keys.last == ObjectKey(namespace: "ns", name: "p\(PolicyAnnotation.maximumItems - 1)"))
        #expect(ReferenceIndex.policies(of: try Fixture.ingress(policies: nil)).isEmpty)
    }

    @Test func blankLinesInAPEMBlockAreLinear() throws {
        let pki = try SecretTestPKI.get()
        let lines = pki.root.certificate.pemEncoded().split(separator: "\n", omittingEmptySubsequences: false)
        // One block, 200,000 blank lines after its BEGIN line (0.2 MB).
        let padded = String(lines[0]) + String(repeating: "\n", count: 200_000) + "\n" + lines.dropFirst().joined(separator: "\n")
        var scan: PEMScan?
        let elapsed = threadCPUTime { scan = PEMBundle.blocks(in: Array(padded.utf8)) }
        #expect(scan?.errors.isEmpty == true)
        #expect(scan?.blocks.first?.der == pki.root.certificate.der)
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }

    @Test func manyEmptyPEMBlocksGiveABoundedAnswer() throws {
        let block = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
        let secret = try Fixture.secret("ca", type: "nginx.org/ca", data: ["ca.crt": String(repeating: block, count: 100_000)])
        let (evaluation, elapsed) = Self.timed(secret, state: nil)
        #expect(evaluation.hasDenials)
        #expect(evaluation.findings.contains { $0.message.contains("more than \(PEMBundle.maximumBlocks) PEM blocks") })
        #expect(evaluation.findings.count <= 2 * (Evaluation.maximumFindingsPerRule + 1))
        #expect(Self.answerSize(evaluation) < Self.maximumAnswer)
        #expect(elapsed < .seconds(1), "\(elapsed)")
    }

    @Test func hostsAgainstTLSHostsAreLinear() throws {
        let count = 10_000
        let rules = (0..<count).map { "{host: h\($0).example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}" }
        // TLS hosts that cover none of the rule hosts but the last: worst case for a pairwise comparison.
        let tlsHosts = (0..<count).map { "t\($0).example.org" } + ["h\(count - 1).example.com"]
        let spec = "{ingressClassName: nginx, tls: [{hosts: [\(tlsHosts.joined(separator: ", "))], secretName: tls}], rules: [\(rules.joined(separator: ", "))]}"
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}", spec: spec)
        let policy = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls")
        let (evaluation, elapsed) = Self.timed(ingress, state: [policy, try Fixture.caSecret(), try Fixture.tlsSecret()])
        let uncovered = evaluation.findings.with(rule: "ingress-mtls/host-without-tls")
        #expect(uncovered.count == Evaluation.maximumFindingsPerRule + 1)
        #expect(uncovered.contains { $0.message.contains("\(count - 1 - Evaluation.maximumFindingsPerRule) more finding(s)") })
        #expect(Self.answerSize(evaluation) < Self.maximumAnswer)
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    /// The linear host check keeps NIC's exact-string semantics: a `*.example.com` entry covers only
    /// a rule host written `*.example.com`, and the last entry naming a host is the one used.
    @Test func tlsHostsCoverExactlyTheirOwnString() throws {
        let spec = "{ingressClassName: nginx, tls: [{hosts: [\"*.example.com\"], secretName: tls}, {hosts: [a.example.com], secretName: tls}], rules: [{host: a.example.com}, {host: \"*.example.com\"}, {host: b.example.com}, {host: A.example.com}]}"
        let ingress = try Fixture.ingress(annotations: "{nginx.org/policies: mtls}", spec: spec)
        let policy = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}", name: "mtls")
        let findings = Fixture.evaluate(ingress, state: [policy, try Fixture.caSecret(), try Fixture.tlsSecret()]).findings
        let uncovered = findings.with(rule: "ingress-mtls/host-without-tls")
        #expect(uncovered.map(\.field.description).sorted() == ["spec.rules[2].host", "spec.rules[3].host"])
        // The near miss is explained from the index: the wildcard entry that does not count.
        #expect(uncovered.first { $0.field.description == "spec.rules[2].host" }?.message.contains("spec.tls[0]") == true)
    }

    @Test func longCAChainIsAnalysedOnce() throws {
        let pki = try SecretTestPKI.get()
        var chain = [pki.root]
        for index in 0..<250 {
            chain.append(try CertificateFactory.issue(SecretTestPKI.request("Chain CA \(index)", ca: true, to: 1000 * SecretTestPKI.day), by: chain[chain.count - 1]))
        }
        let bundle = chain.map { $0.certificate.pemEncoded() }.joined()
        let secret = try Fixture.secret("ca", type: "nginx.org/ca", data: ["ca.crt": bundle])
        let policy = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}")
        let (evaluation, elapsed) = Self.timed(policy, state: [secret])
        // OpenSSL refuses chains deeper than its limit (100): no depth advice, and no hang either.
        #expect(Self.answerSize(evaluation) < Self.maximumAnswer)
        #expect(elapsed < .seconds(2), "\(elapsed)")

        let short = try Fixture.secret("ca", type: "nginx.org/ca", data: ["ca.crt": chain.prefix(40).map { $0.certificate.pemEncoded() }.joined()])
        let (shortEvaluation, _) = Self.timed(policy, state: [short])
        #expect(shortEvaluation.findings.with(rule: "ingress-mtls/verify-depth-chain").first?.message.contains("set verifyDepth: 39") == true)
    }

    @Test func certificateWithManySANsIsBounded() throws {
        let pki = try SecretTestPKI.get()
        let sans = (0..<100_000).map { "DNS:h\($0).example.com" }
        let leaf = try CertificateFactory.issue(CertificateRequest(
            commonName: "many", sans: sans, notBefore: SecretTestPKI.now.addingTimeInterval(-SecretTestPKI.day),
            notAfter: SecretTestPKI.now.addingTimeInterval(300 * SecretTestPKI.day)), by: pki.intermediate)
        var certificate: Certificate?
        let parse = threadCPUTime { certificate = try? Certificate(derEncoded: leaf.certificate.der) }
        #expect(certificate?.subjectAlternativeNameCount == 100_000)
        #expect(certificate?.subjectAlternativeNames.count == Certificate.maximumAlternativeNames)
        #expect(parse < .seconds(1), "\(parse)")

        let secret = try Fixture.secret("tls", type: "kubernetes.io/tls", data: [
            "tls.crt": leaf.certificate.pemEncoded() + pki.intermediate.certificate.pemEncoded(), "tls.key": leaf.privateKey.pemEncoded(),
        ])
        let (evaluation, elapsed) = Self.timed(secret, state: nil)
        #expect(Self.answerSize(evaluation) < Self.maximumAnswer)
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }
}
