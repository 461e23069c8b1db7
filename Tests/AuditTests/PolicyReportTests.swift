import Audit
import Foundation
import KubeModel
import Rules
import Testing

@Suite struct PolicyReportTests {
    static func object(_ name: String, findings: [Finding]) -> AuditedObject {
        AuditedObject(subject: AuditSubject(group: "networking.k8s.io", kind: "Ingress", key: ObjectKey(namespace: "ns", name: name)),
                      apiVersion: "networking.k8s.io/v1", uid: "uid-\(name)", findings: findings)
    }

    static let deny = Finding(rule: "ingress-mtls/tls-required", severity: .deny, field: FieldPath("spec", "tls"), message: "Required value: add TLS")
    static let warn = Finding(rule: "secret/expiry", severity: .warn, field: FieldPath("data").key("ca.crt"), message: "expires soon")

    @Test func resultsNameRuleResultSeverityAndResource() throws {
        let report = PolicyReport([Self.object("cafe", findings: [Self.deny, Self.warn])], now: Date(timeIntervalSince1970: 1000))
        #expect(report.summary.fail == 1 && report.summary.warn == 1 && report.summary.pass == 0)
        let first = try #require(report.results.first)
        #expect(first.policy == "mtls-guard" && first.source == "mtls-guard")
        #expect(first.rule == "ingress-mtls/tls-required" && first.result == "fail" && first.severity == "high")
        #expect(first.message == "spec.tls: Required value: add TLS")
        let resource = try #require(first.resources?.first)
        #expect(first.resources?.count == 1)
        #expect(resource.apiVersion == "networking.k8s.io/v1" && resource.kind == "Ingress")
        #expect(resource.namespace == "ns" && resource.name == "cafe" && resource.uid == "uid-cafe")
        #expect(first.timestamp?.seconds == 1000)
        #expect(report.results.last?.result == "warn" && report.results.last?.severity == "medium")
    }

    @Test func sameFindingsLaterHaveTheSameContent() {
        let objects = [Self.object("cafe", findings: [Self.deny])]
        let early = PolicyReport(objects, now: Date(timeIntervalSince1970: 1000))
        let late = PolicyReport(objects, now: Date(timeIntervalSince1970: 99_999))
        #expect(early != late)  // the timestamps differ...
        #expect(early.content == late.content)  // ...and nothing else does: no rewrite
    }

    @Test func changedFindingChangesTheContent() {
        let before = PolicyReport([Self.object("cafe", findings: [Self.deny])], now: Date())
        var changed = Self.deny
        changed.message = "Required value: add TLS for b.example.com"
        #expect(before.content != PolicyReport([Self.object("cafe", findings: [changed])], now: Date()).content)
        #expect(before.content != PolicyReport([Self.object("cafe", findings: [Self.deny, Self.warn])], now: Date()).content)
        #expect(before.content != PolicyReport([Self.object("tea", findings: [Self.deny])], now: Date()).content)
    }

    @Test func contentSurvivesTheAPIServerRoundTrip() throws {
        // What the API server returns (other field order, extra metadata) compares equal to what was sent.
        let report = PolicyReport([Self.object("cafe", findings: [Self.deny, Self.warn])], now: Date(timeIntervalSince1970: 5))
        let sent = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        var stored = try #require(sent)
        stored["metadata"] = ["name": "mtls-guard", "namespace": "ns", "resourceVersion": "42", "uid": "u"]
        stored["apiVersion"] = "wgpolicyk8s.io/v1alpha2"
        let back = try JSONDecoder().decode(PolicyReport.self, from: JSONSerialization.data(withJSONObject: stored, options: [.sortedKeys]))
        #expect(back.content == report.content)
    }

    @Test func resultsAreCappedButTheSummaryCountsEverything() {
        let many = (0..<(PolicyReport.resultLimit + 10)).map { Self.object("i\($0)", findings: [Self.deny]) }
        let report = PolicyReport(many, now: Date())
        #expect(report.results.count == PolicyReport.resultLimit)
        #expect(report.summary.fail == PolicyReport.resultLimit + 10)
    }
}
