import KubeModel
import Testing
@testable import Webhook

/// Which reviews are judged on the connection's event loop and which go to the review workers.
@Suite struct ReviewPlacementTests {
    static func request(_ group: String, _ kind: String, _ operation: AdmissionOperation) -> AdmissionRequest {
        AdmissionRequest(uid: "u", kind: GroupVersionKind(group: group, version: "v1", kind: kind),
                         resource: GroupVersionResource(group: group, version: "v1", resource: kind.lowercased() + "s"),
                         operation: operation)
    }

    /// Reviews whose cost is bounded by their own body: no cluster-wide work, no crypto.
    @Test(arguments: [("networking.k8s.io", "Ingress", AdmissionOperation.create), ("networking.k8s.io", "Ingress", .update),
                      ("apps", "Deployment", .create), ("apps", "StatefulSet", .update), ("", "Pod", .create),
                      ("batch", "CronJob", .update), ("extensions", "DaemonSet", .create)])
    func judgedOnTheEventLoop(_ group: String, _ kind: String, _ operation: AdmissionOperation) {
        #expect(WebhookResponder.isJudgedOnEventLoop(Self.request(group, kind, operation)))
    }

    /// A Policy UPDATE re-judges every referrer, a Secret parses certificates, a DELETE looks up
    /// referrers, and a same-named kind of another group is not what the rules know.
    @Test(arguments: [("k8s.nginx.org", "Policy", AdmissionOperation.update), ("k8s.nginx.org", "Policy", .create),
                      ("", "Secret", .update), ("", "Secret", .create), ("networking.k8s.io", "Ingress", .delete),
                      ("apps", "Deployment", .delete), ("k8s.nginx.org", "VirtualServer", .create),
                      ("k8s.nginx.org", "VirtualServerRoute", .update), ("example.com", "Ingress", .create),
                      ("example.com", "Deployment", .create), ("", "Namespace", .create)])
    func judgedOnAWorker(_ group: String, _ kind: String, _ operation: AdmissionOperation) {
        #expect(!WebhookResponder.isJudgedOnEventLoop(Self.request(group, kind, operation)))
    }
}
