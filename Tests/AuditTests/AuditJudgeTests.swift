import Audit
import Certificates
import Foundation
import KubeModel
import Rules
import Testing

@Suite struct AuditJudgeTests {
    @Test func policyWithWrongTypeSecretFailsAndSoDoesTheIngressUsingIt() throws {
        let objects = [
            try AuditFixture.secret("ca", type: "Opaque", data: ["ca.crt": "x"]),
            try AuditFixture.ingressMTLSPolicy("p", secret: "ca"),
            try AuditFixture.ingress("i", policies: "p"),
        ]
        let snapshot = InMemorySnapshot(objects: objects)
        let judge = AuditJudge(settings: Settings())
        let policy = judge.judge(objects[1], snapshot: snapshot)
        #expect(policy.findings.map(\.rule) == ["ingress-mtls/client-cert-secret-ref"])
        #expect(policy.hasDenials)
        let ingress = judge.judge(objects[2], snapshot: snapshot) { $0 == policy.subject.key ? policy : nil }
        let finding = try #require(ingress.findings.first { $0.rule == "ingress/policy-ref" })
        #expect(finding.severity == .deny)
        #expect(finding.field.description == "metadata.annotations[nginx.org/policies]")
        #expect(finding.message.contains("\"ns/p\"") && finding.message.contains("ingress-mtls/client-cert-secret-ref"))
        // The same Ingress judged without the Policy's verdict has no such finding: it comes from the Policy.
        #expect(!judge.judge(objects[2], snapshot: snapshot).findings.contains { $0.rule == "ingress/policy-ref" })
    }

    @Test func tlsSecretWithoutItsKeyIsJudgedByItsIngestVerdict() throws {
        // The live view drops tls.key at ingest; the verdict computed then stands in for it.
        let issued = try CertificateFactory.selfSigned(CertificateRequest(commonName: "a.example.com", sans: ["a.example.com"]))
        let stripped = try AuditFixture.secret("tls", type: "kubernetes.io/tls", data: ["tls.crt": issued.certificate.pemEncoded()])
        let judge = AuditJudge(settings: Settings())
        #expect(judge.judge(stripped, snapshot: nil).findings.contains { $0.field.description == "data[tls.key]" })
        #expect(judge.judge(stripped, ingestedContentFailures: [], snapshot: nil).findings.isEmpty)
        let mismatch = Finding(rule: "secret/tls", severity: .deny, field: FieldPath("data").key("tls.key"), message: "Invalid value: does not match")
        #expect(judge.judge(stripped, ingestedContentFailures: [mismatch], snapshot: nil).findings == [mismatch])
    }

    @Test func earliestNotAfterOfABundle() throws {
        let early = Date(timeIntervalSince1970: 1_900_000_000)
        let late = Date(timeIntervalSince1970: 1_950_000_000)
        let a = try CertificateFactory.selfSigned(CertificateRequest(commonName: "a", isCA: true, notAfter: late))
        let b = try CertificateFactory.selfSigned(CertificateRequest(commonName: "b", isCA: true, notAfter: early))
        let secret = try AuditFixture.secret("ca", type: "nginx.org/ca", data: ["ca.crt": a.certificate.pemEncoded() + b.certificate.pemEncoded()])
        #expect(CertificateExpiry.earliestNotAfter(secret) == early)
        #expect(CertificateExpiry.earliestNotAfter(try AuditFixture.secret("x", type: "nginx.org/ca", data: ["ca.crt": "junk"])) == nil)
    }

    @Test func mTLSSecretsAreThoseOfMTLSPoliciesAndProtectedHosts() throws {
        let objects = [
            try AuditFixture.ingressMTLSPolicy("p", secret: "ca"),
            try AuditFixture.ingress("protected", policies: "p"),
            try AuditFixture.ingress("plain", policies: "missing"),
        ]
        let snapshot = InMemorySnapshot(objects: objects)
        let judge = AuditJudge(settings: Settings())
        #expect(judge.judge(objects[0], snapshot: snapshot).mTLSSecrets == [ObjectKey(namespace: "ns", name: "ca")])
        #expect(judge.judge(objects[1], snapshot: snapshot).mTLSSecrets == [ObjectKey(namespace: "ns", name: "tls")])
        #expect(judge.judge(objects[2], snapshot: snapshot).mTLSSecrets.isEmpty)
    }

    @Test func resultsKeepCountsAndNamespacesInStep() throws {
        var results = AuditResults()
        let deny = Finding(rule: "ingress-mtls/tls-required", severity: .deny, field: FieldPath("spec", "tls"), message: "m")
        let subject = AuditSubject(group: "networking.k8s.io", kind: "Ingress", key: ObjectKey(namespace: "a", name: "i"))
        results.set(subject, AuditedObject(subject: subject, apiVersion: "networking.k8s.io/v1", uid: nil, findings: [deny],
                                           mTLSSecrets: [ObjectKey(namespace: "a", name: "tls")]))
        let key = AuditResults.ViolationKey(rule: deny.rule, severity: .deny, kind: "Ingress")
        #expect(results.violations[key] == 1)
        #expect(results.namespaces == ["a"] && results.hasDenials)
        #expect(results.mTLSSecrets == [ObjectKey(namespace: "a", name: "tls"): 1])
        results.set(subject, AuditedObject(subject: subject, apiVersion: "networking.k8s.io/v1", uid: nil, findings: []))
        #expect(results.violations[key] == 0)
        #expect(results.namespaces.isEmpty && !results.hasDenials && results.mTLSSecrets.isEmpty)
        #expect(results.findings(in: "a").isEmpty)
    }
}
