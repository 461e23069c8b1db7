import Foundation
import KubeModel
import Rules
import Testing
@testable import ClusterState

/// A TLS pair and a CA made by the openssl CLI, and a second key that matches neither.
struct TestCertificates {
    let caPEM: String
    let certPEM: String
    let keyPEM: String
    let otherKeyPEM: String

    static let shared: TestCertificates? = try? generate()

    static func generate() throws -> TestCertificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mtls-guard-cs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=ca -addext basicConstraints=critical,CA:TRUE 2>/dev/null
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout tls.key -out tls.crt -days 30 -subj /CN=leaf 2>/dev/null
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out other.key 2>/dev/null
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = dir
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileReadUnknown) }
        func read(_ name: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        return TestCertificates(caPEM: try read("ca.crt"), certPEM: try read("tls.crt"), keyPEM: try read("tls.key"), otherKeyPEM: try read("other.key"))
    }

    static func require() throws -> TestCertificates { try #require(shared, "openssl CLI could not make test certificates") }
}

func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Data(text.utf8)) }

func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

func ingest(_ text: String, _ source: WatchSource) throws -> StoredObject {
    try #require(ObjectIngest.stored(try json(text), source: source))
}

func policy(_ name: String, secret: String, namespace: String = "cafe") -> String {
    #"{"apiVersion":"k8s.nginx.org/v1","kind":"Policy","metadata":{"name":"\#(name)","namespace":"\#(namespace)","resourceVersion":"7"},"spec":{"ingressMTLS":{"clientCertSecret":"\#(secret)"}}}"#
}

func ingress(_ name: String, policies: String, tlsSecret: String? = nil) -> String {
    let tls = tlsSecret.map { #","tls":[{"hosts":["a.example.com"],"secretName":"\#($0)"}]"# } ?? ""
    return #"{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"\#(name)","namespace":"cafe","annotations":{"nginx.org/policies":"\#(policies)"}},"spec":{"ingressClassName":"nginx"\#(tls),"rules":[{"host":"a.example.com"}]}}"#
}

@Suite("Live snapshot: incremental indexes, ingest, consistency")
struct LiveSnapshotTests {
    @Test func answersLikeInMemorySnapshot() throws {
        let certs = try TestCertificates.require()
        let texts: [(String, WatchSource)] = [
            (policy("p1", secret: "ca"), .policies),
            (policy("p2", secret: "ca"), .policies),
            (ingress("i1", policies: "p1,p2", tlsSecret: "tls"), .ingresses),
            (ingress("i2", policies: "cafe/p1"), .ingresses),
            (#"{"metadata":{"name":"ca","namespace":"cafe"},"type":"nginx.org/ca","data":{"ca.crt":"\#(b64(certs.caPEM))"}}"#, .caSecrets),
        ]
        var live = LiveSnapshot()
        for (text, source) in texts { live.upsert(try ingest(text, source)) }
        let reference = InMemorySnapshot(objects: try texts.map { try #require(ObjectIngest.stored(try json($0.0), source: $0.1)?.object) })
        for name in ["p1", "p2", "missing"] {
            #expect(live.policy(namespace: "cafe", name: name) == reference.policy(namespace: "cafe", name: name))
            #expect(live.policyReferrers(namespace: "cafe", name: name) == reference.policyReferrers(namespace: "cafe", name: name))
        }
        for name in ["ca", "tls"] {
            #expect(live.secret(namespace: "cafe", name: name) == reference.secret(namespace: "cafe", name: name))
            #expect(live.secretReferrers(namespace: "cafe", name: name) == reference.secretReferrers(namespace: "cafe", name: name))
        }
        #expect(live.policyReferrers(namespace: "cafe", name: "p1").map(\.name) == ["i1", "i2"])
        #expect(live.secretReferrers(namespace: "cafe", name: "ca").map(\.name) == ["p1", "p2"])
    }

    @Test func updatesMoveReferencesAndOldSnapshotsStayAsTheyWere() throws {
        var live = LiveSnapshot()
        live.upsert(try ingest(policy("p1", secret: "s"), .policies))
        live.upsert(try ingest(ingress("i1", policies: "p1"), .ingresses))
        let before = live

        live.upsert(try ingest(ingress("i1", policies: "p2"), .ingresses))
        #expect(live.policyReferrers(namespace: "cafe", name: "p1").isEmpty, "the old reference is retracted")
        #expect(live.policyReferrers(namespace: "cafe", name: "p2").map(\.name) == ["i1"])
        #expect(before.policyReferrers(namespace: "cafe", name: "p1").map(\.name) == ["i1"], "a reader's snapshot does not change")

        live.remove(.policies, ObjectKey(namespace: "cafe", name: "p1"))
        #expect(live.policy(namespace: "cafe", name: "p1") == nil)
        #expect(live.secretReferrers(namespace: "cafe", name: "s").isEmpty)
        #expect(before.policy(namespace: "cafe", name: "p1") != nil)

        live.remove(.ingresses, ObjectKey(namespace: "cafe", name: "i1"))
        #expect(live.policyReferrers(namespace: "cafe", name: "p2").isEmpty)
        #expect(live.count(.ingresses) == 0)
    }

    /// A Policy is judged once, at ingest; an update brings its new verdict, and a reader's
    /// snapshot keeps the one it had.
    @Test func ingestingManifestsStoresEachUnderItsSource() throws {
        let certs = try TestCertificates.require()
        let texts = [
            policy("p1", secret: "ca"),
            ingress("i1", policies: "p1", tlsSecret: "tls"),
            #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"ca","namespace":"cafe"},"type":"nginx.org/ca","data":{"ca.crt":"\#(b64(certs.caPEM))"}}"#,
            #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"tls","namespace":"cafe"},"type":"kubernetes.io/tls","data":{"tls.crt":"\#(b64(certs.certPEM))","tls.key":"\#(b64(certs.keyPEM))"}}"#,
            #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"opaque","namespace":"cafe"},"type":"Opaque","data":{"a":"Yg=="}}"#,
            #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"cafe","labels":{"mtls-guard.nginx.org/mode":"warn"}}}"#,
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other","namespace":"cafe"}}"#,
        ]
        let live = LiveSnapshot(ingesting: try texts.map { try #require(KubeObject(try json($0))) })
        #expect(live.count(.policies) == 1 && live.count(.ingresses) == 1 && live.count(.namespaces) == 1)
        #expect(live.count(.caSecrets) == 1 && live.count(.tlsSecrets) == 1)
        #expect(live.secret(namespace: "cafe", name: "opaque") == nil, "a type no source watches is left out")
        #expect(live.policyVerdict(namespace: "cafe", name: "p1")?.isValid == true)
        #expect(live.policyReferrers(namespace: "cafe", name: "p1").map(\.name) == ["i1"])
        #expect(live.namespaceLabels("cafe")?["mtls-guard.nginx.org/mode"] == "warn")
        // Ingested as the watch delivers it: the private key read for the verdict, then dropped.
        #expect(live.secretContentFailures(ObjectKey(namespace: "cafe", name: "tls"), requiredType: "kubernetes.io/tls") {
            Issue.record("the verdict is computed again instead of read from ingest")
            return []
        }.isEmpty)
        #expect(live.secret(namespace: "cafe", name: "tls")?.raw["data"]?["tls.key"] == nil)
    }

    @Test func policyVerdictsAreComputedAtIngestAndFollowUpdates() throws {
        let valid = try ingest(policy("p1", secret: "ca"), .policies)
        #expect(valid.policyVerdict?.isValid == true)
        #expect(valid.policyVerdict?.view == PolicyView(valid.object))
        #expect(try ingest(ingress("i1", policies: "p1"), .ingresses).policyVerdict == nil)

        var live = LiveSnapshot()
        live.upsert(valid)
        let before = live
        // verifyClient "sometimes": NIC rejects the Policy (ingress-mtls/verify-client).
        let broken = #"{"apiVersion":"k8s.nginx.org/v1","kind":"Policy","metadata":{"name":"p1","namespace":"cafe"},"spec":{"ingressMTLS":{"clientCertSecret":"ca","verifyClient":"sometimes"}}}"#
        live.upsert(try ingest(broken, .policies))
        #expect(live.policyVerdict(namespace: "cafe", name: "p1")?.isValid == false)
        #expect(before.policyVerdict(namespace: "cafe", name: "p1")?.isValid == true, "a reader's snapshot does not change")

        let review = ReviewInput(operation: .create, kind: GroupVersionKind(group: "networking.k8s.io", version: "v1", kind: "Ingress"),
                                 namespace: "cafe", name: "i1", object: try json(ingress("i1", policies: "p1")), oldObject: nil)
        func deniesInvalidPolicy(_ snapshot: LiveSnapshot) -> Bool {
            RuleEngine.evaluate(review, snapshot: snapshot, settings: Settings()).findings
                .contains { $0.rule == "ingress/policy-ref" && $0.severity == .deny && $0.message.contains("Policy is invalid") }
        }
        #expect(deniesInvalidPolicy(live))
        #expect(!deniesInvalidPolicy(before))

        live.remove(.policies, ObjectKey(namespace: "cafe", name: "p1"))
        #expect(live.policyVerdict(namespace: "cafe", name: "p1") == nil)
    }

    @Test func listReplacesTheSourceInOneStep() throws {
        var live = LiveSnapshot()
        live.upsert(try ingest(policy("old", secret: "s"), .policies))
        live.upsert(try ingest(policy("kept", secret: "s"), .policies))
        live.upsert(try ingest(ingress("i1", policies: "kept"), .ingresses))
        live.replace(.policies, with: [try ingest(policy("kept", secret: "s2"), .policies), try ingest(policy("new", secret: "s"), .policies)])
        #expect(live.policy(namespace: "cafe", name: "old") == nil)
        #expect(live.count(.policies) == 2)
        #expect(live.secretReferrers(namespace: "cafe", name: "s").map(\.name) == ["new"])
        #expect(live.secretReferrers(namespace: "cafe", name: "s2").map(\.name) == ["kept"])
        #expect(live.count(.ingresses) == 1, "other sources untouched")
    }

    @Test func ingestDropsWhatNoRuleReadsAndKeepsNoPrivateKey() throws {
        let certs = try TestCertificates.require()
        let text = #"""
            {"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/tls",
             "metadata":{"name":"tls","namespace":"cafe","resourceVersion":"42",
               "managedFields":[{"manager":"kubectl"}],
               "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}","keep":"me"}},
             "data":{"tls.crt":"\#(b64(certs.certPEM))","tls.key":"\#(b64(certs.keyPEM))","extra":"eA=="}}
            """#
        let stored = try ingest(text, .tlsSecrets)
        #expect(stored.object.raw["metadata"]?["managedFields"] == nil)
        #expect(stored.object.metadata.annotations == ["keep": "me"])
        #expect(stored.object.raw["data"]?.objectValue?.keys.sorted() == ["tls.crt"])
        #expect(stored.resourceVersion == "42")
        #expect(stored.contentFailures == [], "the pair matches: computed before the key was dropped")

        var live = LiveSnapshot()
        live.upsert(stored)
        var computed = false
        let failures = live.secretContentFailures(ObjectKey(namespace: "cafe", name: "tls"), requiredType: "kubernetes.io/tls") {
            computed = true
            return []
        }
        #expect(failures.isEmpty)
        #expect(!computed, "answered from the stored verdict, never recomputed without the key")

        let mismatched = try ingest(text.replacingOccurrences(of: b64(certs.keyPEM), with: b64(certs.otherKeyPEM)), .tlsSecrets)
        #expect(mismatched.contentFailures?.map(\.rule.rawValue) == ["secret/tls"])
        #expect(mismatched.object.raw["data"]?["tls.key"] == nil)
    }

    @Test func caSecretKeepsCertificateAndCRLOnly() throws {
        let certs = try TestCertificates.require()
        let stored = try ingest(#"{"metadata":{"name":"ca","namespace":"cafe"},"type":"nginx.org/ca","data":{"ca.crt":"\#(b64(certs.caPEM))","ca.crl":"eA==","other":"eA=="}}"#, .caSecrets)
        #expect(stored.object.apiVersion == "v1" && stored.object.kind == "Secret", "list items get apiVersion and kind from the source")
        #expect(stored.object.raw["data"]?.objectValue?.keys.sorted() == ["ca.crl", "ca.crt"])
        #expect(stored.contentFailures?.map(\.rule.rawValue) == ["secret/ca-crl"])
    }

    @Test func rulesSeeTheLiveSnapshotLikeTheInMemoryOne() throws {
        // An Ingress without TLS that references an ingressMTLS Policy: denied with either snapshot.
        var live = LiveSnapshot()
        live.upsert(try ingest(policy("mtls", secret: "ca"), .policies))
        let request = ReviewInput(
            operation: .create, kind: GroupVersionKind(group: "networking.k8s.io", version: "v1", kind: "Ingress"),
            namespace: "cafe", name: "i", object: try json(ingress("i", policies: "mtls")), oldObject: nil)
        let evaluation = RuleEngine.evaluate(request, snapshot: live, settings: Settings())
        #expect(evaluation.findings.contains { $0.rule.rawValue == "ingress-mtls/tls-required" })
    }

    @Test func manyObjectsIndexIncrementally() throws {
        var live = LiveSnapshot()
        for index in 0..<3000 {
            live.upsert(try ingest(ingress("i\(index)", policies: "p\(index % 10)"), .ingresses))
        }
        #expect(live.count(.ingresses) == 3000)
        #expect(live.policyReferrers(namespace: "cafe", name: "p3").count == 300)
        let snapshot = live
        live.remove(.ingresses, ObjectKey(namespace: "cafe", name: "i3"))
        #expect(live.policyReferrers(namespace: "cafe", name: "p3").count == 299)
        #expect(snapshot.policyReferrers(namespace: "cafe", name: "p3").count == 300)
    }
}
