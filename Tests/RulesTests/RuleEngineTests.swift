import Foundation
import KubeModel
import Testing
@testable import Rules

@Suite struct RuleEngineTests {
    @Test func catalogueListsEveryRuleOnceWithItsSection() {
        let ids = RuleCatalogue.ids
        #expect(Set(ids).count == ids.count)
        #expect(ids.count == 67)
        #expect(RuleCatalogue.descriptor(for: "ingress-mtls/verify-client")?.severity == .deny)
        #expect(RuleCatalogue.descriptor(for: "mesh/mtls-off")?.section == 6)
        #expect(RuleCatalogue.descriptor(for: "upstream-ca/schema")?.section == 7)
        #expect(RuleCatalogue.descriptor(for: "policy/in-use-update")?.needsState == true)
        #expect(RuleCatalogue.descriptor(for: "no/such-rule") == nil)
    }

    @Test func everyStateRuleIDIsCatalogued() {
        for id in PolicyReferenceRules.ruleIDs + IngressRules.stateRuleIDs + VirtualServerRules.stateRuleIDs {
            #expect(RuleCatalogue.descriptor(for: id)?.needsState == true, "\(id)")
        }
    }

    @Test(arguments: [
        ("Policy", "ingress-mtls/client-cert-secret-ref"),
        ("Ingress", "ingress/policy-ref"),
        ("VirtualServer", "vs/policy-ref"),
    ])
    func withoutStateTheStateRulesAreSkippedAndListed(kind: String, expected: String) throws {
        let object: KubeObject
        switch kind {
        case "Policy": object = try Fixture.policy("{ingressMTLS: {clientCertSecret: ca}}")
        case "Ingress": object = try Fixture.ingress(policies: "mtls")
        default: object = try VirtualServerRulesTests.virtualServer("{policies: [{name: p}]}")
        }
        let evaluation = Fixture.evaluate(object, state: nil)
        #expect(evaluation.findings.isEmpty)
        #expect(evaluation.skippedStateRules.contains(RuleID(expected)))
        #expect(Fixture.evaluate(object, state: []).skippedStateRules.isEmpty)
    }

    @Test func secretCreateRunsContentRulesOnly() throws {
        let evaluation = Fixture.evaluate(try Fixture.secret("s", type: "nginx.org/ca", data: [:]), state: nil)
        #expect(evaluation.findings.hits.contains("secret/ca@data[ca.crt]") || evaluation.findings.contains { $0.rule == "secret/ca" })
        #expect(evaluation.skippedStateRules.isEmpty)
    }

    @Test func workloadsGoToMeshRules() throws {
        let pod = try Fixture.object("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: ns, annotations: {config.nsm.nginx.com/mtls-mode: sideways}}
            spec: {containers: [{name: c, image: x}]}
            """)
        #expect(Fixture.evaluate(pod, state: nil).findings.contains { $0.rule == "mesh/mtls-mode-value" })
    }

    @Test func deleteOfAReferencingObjectAndUnknownKindsAreQuiet() throws {
        #expect(Fixture.evaluate(try Fixture.ingress(policies: "a,,b"), .delete, state: []).findings.isEmpty)
        let config = try Fixture.object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n")
        #expect(Fixture.evaluate(config, state: []).findings.isEmpty)
    }

    @Test func requestNamespaceFillsAMissingOne() throws {
        let policy = try Fixture.object("apiVersion: k8s.nginx.org/v1\nkind: Policy\nmetadata: {name: p}\nspec: {ingressMTLS: {clientCertSecret: ca}}\n")
        let input = ReviewInput(operation: .create, kind: GroupVersionKind(group: "k8s.nginx.org", version: "v1", kind: "Policy"),
                                namespace: "team", name: "p", object: policy.raw, oldObject: nil)
        let snapshot = InMemorySnapshot(objects: [try Fixture.caSecret(namespace: "team")])
        #expect(RuleEngine.evaluate(input, snapshot: snapshot, settings: Fixture.settings).findings.isEmpty)
    }

    @Test func findingsAreInDeterministicOrder() throws {
        let policy = try Fixture.policy("{egressMTLS: {verifyDepth: -1, sslName: X, protocols: TLSv9}}")
        let first = Fixture.evaluate(policy, state: []).findings
        #expect(first == Fixture.evaluate(policy, state: []).findings)
        #expect(first.first?.severity == .deny && first.last?.severity == .warn)
    }

    @Test func snapshotIndexesReferrers() throws {
        let snapshot = InMemorySnapshot(objects: try DeleteRulesTests.cluster())
        #expect(snapshot.policyReferrers(namespace: "ns", name: "mtls").map(\.kind).sorted() == ["Ingress", "VirtualServer"])
        #expect(snapshot.secretReferrers(namespace: "ns", name: "ca").map(\.name) == ["egress", "mtls"])
        #expect(snapshot.policy(namespace: "ns", name: "mtls") != nil)
        #expect(snapshot.policy(namespace: "other", name: "mtls") == nil)
        #expect(snapshot.secret(namespace: "ns", name: "tls") != nil)
    }
}
