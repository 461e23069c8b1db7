import Audit
import KubeModel
import Rules
import Testing

@Suite struct ReferrerClosureTests {
    /// Two Policies name Secret `ca`; three objects use the first Policy, one the second; others stand apart.
    static func snapshot() throws -> InMemorySnapshot {
        var objects = [
            try AuditFixture.secret("ca", type: "nginx.org/ca", data: ["ca.crt": "x"]),
            try AuditFixture.secret("other-ca", type: "nginx.org/ca", data: ["ca.crt": "x"]),
            try AuditFixture.ingressMTLSPolicy("p1", secret: "ca"),
            try AuditFixture.ingressMTLSPolicy("p2", secret: "ca"),
            try AuditFixture.ingressMTLSPolicy("p3", secret: "other-ca"),
            try AuditFixture.ingress("i1", policies: "p1"),
            try AuditFixture.ingress("i2", policies: "p1"),
            try AuditFixture.ingress("i3", policies: "p2"),
            try AuditFixture.ingress("i4", policies: "p3"),
            try AuditFixture.virtualServer("vs1", policy: "p1"),
        ]
        // Many bystanders: the closure must not grow with them.
        for index in 0..<200 { objects.append(try AuditFixture.ingress("bystander-\(index)", policies: "p3")) }
        return InMemorySnapshot(objects: objects)
    }

    static func names(_ subjects: Set<AuditSubject>) -> [String] {
        subjects.map { "\($0.kind) \($0.key.name)" }.sorted()
    }

    @Test func secretChangeReachesPoliciesNamingItAndTheirReferrers() throws {
        let secret = AuditSubject(group: "", kind: "Secret", key: ObjectKey(namespace: "ns", name: "ca"))
        let affected = ReferrerClosure.affected(by: [secret], in: try Self.snapshot())
        #expect(Self.names(affected) == [
            "Ingress i1", "Ingress i2", "Ingress i3", "Policy p1", "Policy p2", "Secret ca", "VirtualServer vs1",
        ])
    }

    @Test func policyChangeReachesOnlyItsReferrers() throws {
        let affected = ReferrerClosure.affected(by: [AuditSubject.policy(ObjectKey(namespace: "ns", name: "p2"))], in: try Self.snapshot())
        #expect(Self.names(affected) == ["Ingress i3", "Policy p2"])
    }

    @Test func referrerChangeIsJudgedAlone() throws {
        let ingress = AuditSubject(group: "networking.k8s.io", kind: "Ingress", key: ObjectKey(namespace: "ns", name: "i1"))
        #expect(Self.names(ReferrerClosure.affected(by: [ingress], in: try Self.snapshot())) == ["Ingress i1"])
    }

    @Test func deletedSecretStillReachesItsReferrers() throws {
        // `gone` does not exist, but a Policy names it: its verdict (missing Secret) must be refreshed.
        let snapshot = InMemorySnapshot(objects: [
            try AuditFixture.ingressMTLSPolicy("p", secret: "gone"),
            try AuditFixture.ingress("i", policies: "p"),
        ])
        let gone = AuditSubject(group: "", kind: "Secret", key: ObjectKey(namespace: "ns", name: "gone"))
        #expect(Self.names(ReferrerClosure.affected(by: [gone], in: snapshot)) == ["Ingress i", "Policy p", "Secret gone"])
    }

    @Test func otherNamespacesAreNotReached() throws {
        let snapshot = InMemorySnapshot(objects: [
            try AuditFixture.ingressMTLSPolicy("p", secret: "ca", namespace: "a"),
            try AuditFixture.ingressMTLSPolicy("p", secret: "ca", namespace: "b"),
        ])
        let secret = AuditSubject(group: "", kind: "Secret", key: ObjectKey(namespace: "a", name: "ca"))
        let affected = ReferrerClosure.affected(by: [secret], in: snapshot)
        #expect(affected.map(\.key.description).sorted() == ["a/ca", "a/p"])
    }
}
