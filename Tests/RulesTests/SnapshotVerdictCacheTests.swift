import Foundation
import KubeModel
import Synchronization
import Testing
@testable import Rules

@Suite struct SnapshotVerdictCacheTests {
    static func secret(_ name: String) -> KubeObject? {
        KubeObject(.object([
            "apiVersion": .string("v1"), "kind": .string("Secret"), "type": .string("nginx.org/ca"),
            "metadata": .object(["name": .string(name), "namespace": .string("team")]),
        ]))
    }

    @Test func inMemorySnapshotComputesEachSecretVerdictOnce() {
        let snapshot = InMemorySnapshot(objects: [Self.secret("ca")].compactMap { $0 })
        let calls = Mutex(0)
        let key = ObjectKey(namespace: "team", name: "ca")
        let verdict = [Finding(rule: "secret/ca", severity: .deny, field: FieldPath("data"), message: "bad")]
        for _ in 0..<3 {
            let answer = snapshot.secretContentFailures(key, requiredType: SecretView.caType) {
                calls.withLock { $0 += 1 }
                return verdict
            }
            #expect(answer == verdict)
        }
        #expect(calls.withLock { $0 } == 1)
        // Another required type is another question.
        _ = snapshot.secretContentFailures(key, requiredType: SecretView.tlsType) { calls.withLock { $0 += 1 }; return [] }
        #expect(calls.withLock { $0 } == 2)
    }

    /// `serve --state` computes every CA/TLS Secret's verdict before it is ready, so no review
    /// (some are judged on an event loop) parses certificates of the state.
    @Test func computedVerdictsAnswerWithoutComputingAgain() {
        let snapshot = InMemorySnapshot(objects: [Self.secret("ca")].compactMap { $0 })
        snapshot.computeSecretVerdicts()
        let key = ObjectKey(namespace: "team", name: "ca")
        let calls = Mutex(0)
        let answer = snapshot.secretContentFailures(key, requiredType: SecretView.caType) {
            calls.withLock { $0 += 1 }
            return []
        }
        #expect(calls.withLock { $0 } == 0)
        // The Secret has no ca.crt: its stored verdict is secret/ca's deny, as a review computes it.
        #expect(answer.map(\.rule) == ["secret/ca"])
    }

    @Test func anOverriddenSecretIsNeverAnsweredFromMemory() {
        let base = InMemorySnapshot(objects: [Self.secret("ca")].compactMap { $0 })
        let key = ObjectKey(namespace: "team", name: "ca")
        _ = base.secretContentFailures(key, requiredType: SecretView.caType) { [] }
        let overlay = OverlaySnapshot(base: base, secret: Self.secret("ca"))
        let fresh = [Finding(rule: "secret/ca", severity: .deny, field: FieldPath("data"), message: "new content is bad")]
        #expect(overlay.secretContentFailures(key, requiredType: SecretView.caType) { fresh } == fresh)
    }

    /// End to end: a review referencing a broken TLS Secret is denied the same way twice.
    @Test func cachedVerdictGivesTheSameFindings() {
        let tls = KubeObject(.object([
            "apiVersion": .string("v1"), "kind": .string("Secret"), "type": .string("kubernetes.io/tls"),
            "metadata": .object(["name": .string("tls"), "namespace": .string("team")]),
            "data": .object(["tls.crt": .string("bm90IGEgY2VydA=="), "tls.key": .string("bm90IGEga2V5")]),
        ]))
        let policy = KubeObject(.object([
            "apiVersion": .string("k8s.nginx.org/v1"), "kind": .string("Policy"),
            "metadata": .object(["name": .string("mtls"), "namespace": .string("team")]),
            "spec": .object(["ingressMTLS": .object(["clientCertSecret": .string("ca")])]),
        ]))
        let snapshot = InMemorySnapshot(objects: [tls, policy].compactMap { $0 })
        let ingress: JSONValue = .object([
            "apiVersion": .string("networking.k8s.io/v1"), "kind": .string("Ingress"),
            "metadata": .object(["name": .string("web"), "namespace": .string("team"),
                                 "annotations": .object(["nginx.org/policies": .string("mtls")])]),
            "spec": .object([
                "tls": .array([.object(["hosts": .array([.string("a.example.com")]), "secretName": .string("tls")])]),
                "rules": .array([.object(["host": .string("a.example.com")])]),
            ]),
        ])
        let input = ReviewInput(operation: .create, kind: GroupVersionKind(group: "networking.k8s.io", version: "v1", kind: "Ingress"),
                                namespace: "team", name: "web", object: ingress, oldObject: nil)
        let first = RuleEngine.evaluate(input, snapshot: snapshot, settings: Settings())
        let second = RuleEngine.evaluate(input, snapshot: snapshot, settings: Settings())
        #expect(first == second)
        #expect(first.findings.contains { $0.rule == "ingress-mtls/tls-secret" && $0.severity == .deny })
    }

    static func policy(_ name: String, verifyClient: String) -> KubeObject? {
        KubeObject(.object([
            "apiVersion": .string("k8s.nginx.org/v1"), "kind": .string("Policy"),
            "metadata": .object(["name": .string(name), "namespace": .string("team")]),
            "spec": .object(["ingressMTLS": .object(["clientCertSecret": .string("ca"), "verifyClient": .string(verifyClient)])]),
        ]))
    }

    static func ingressReview(policies: String) -> ReviewInput {
        let ingress: JSONValue = .object([
            "apiVersion": .string("networking.k8s.io/v1"), "kind": .string("Ingress"),
            "metadata": .object(["name": .string("web"), "namespace": .string("team"),
                                 "annotations": .object(["nginx.org/policies": .string(policies)])]),
            "spec": .object(["rules": .array([.object(["host": .string("a.example.com")])])]),
        ])
        return ReviewInput(operation: .create, kind: GroupVersionKind(group: "networking.k8s.io", version: "v1", kind: "Ingress"),
                           namespace: "team", name: "web", object: ingress, oldObject: nil)
    }

    /// The deny a reference to an invalid Policy gets, if any.
    static func invalidPolicyDenial(_ evaluation: Evaluation) -> Finding? {
        evaluation.findings.first { $0.rule == "ingress/policy-ref" && $0.severity == .deny && $0.message.contains("Policy is invalid") }
    }

    /// The verdict the snapshot keeps for each Policy of the state (judged when the snapshot is
    /// built) is the one `PolicyRules` gives the Policy itself, and reviews use it.
    @Test func inMemorySnapshotKeepsEachPolicysOwnVerdict() throws {
        let good = try #require(Self.policy("good", verifyClient: "on"))
        let bad = try #require(Self.policy("bad", verifyClient: "sometimes"))
        let snapshot = InMemorySnapshot(objects: [good, bad])
        let goodVerdict = try #require(snapshot.policyVerdict(namespace: "team", name: "good"))
        let badVerdict = try #require(snapshot.policyVerdict(namespace: "team", name: "bad"))
        #expect(goodVerdict.isValid && goodVerdict.view == PolicyView(good))
        #expect(!badVerdict.isValid && badVerdict.view == PolicyView(bad))
        #expect(PolicyRules.isValid(PolicyView(bad)) == false)
        #expect(snapshot.policyVerdict(namespace: "team", name: "missing") == nil)
        #expect(snapshot.policyVerdict(namespace: "other", name: "good") == nil)

        #expect(Self.invalidPolicyDenial(RuleEngine.evaluate(Self.ingressReview(policies: "good"), snapshot: snapshot, settings: Settings())) == nil)
        let denial = Self.invalidPolicyDenial(RuleEngine.evaluate(Self.ingressReview(policies: "bad"), snapshot: snapshot, settings: Settings()))
        #expect(denial?.field.description == "metadata.annotations[nginx.org/policies]")
    }

    /// "What if this UPDATE were applied": the Policy's new content is judged, not the base's
    /// remembered verdict on its old content.
    @Test func anOverriddenPolicyIsJudgedAsItIsNow() throws {
        let base = InMemorySnapshot(objects: [try #require(Self.policy("mtls", verifyClient: "on"))])
        let overlay = OverlaySnapshot(base: base, policy: Self.policy("mtls", verifyClient: "sometimes"))
        #expect(base.policyVerdict(namespace: "team", name: "mtls")?.isValid == true)
        #expect(overlay.policyVerdict(namespace: "team", name: "mtls")?.isValid == false)
        #expect(Self.invalidPolicyDenial(RuleEngine.evaluate(Self.ingressReview(policies: "mtls"), snapshot: base, settings: Settings())) == nil)
        #expect(Self.invalidPolicyDenial(RuleEngine.evaluate(Self.ingressReview(policies: "mtls"), snapshot: overlay, settings: Settings())) != nil)
        // Other Policies are still the base's.
        let other = OverlaySnapshot(base: base, policy: Self.policy("another", verifyClient: "sometimes"))
        #expect(other.policyVerdict(namespace: "team", name: "mtls")?.isValid == true)
    }
}
