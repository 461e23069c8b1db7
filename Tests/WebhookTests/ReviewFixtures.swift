import Foundation
@testable import Webhook

/// What the tests of the webhook's request paths share: a review body and the worker pool.
enum ReviewFixtures {
    /// One pool for the test process: its threads live as long as it.
    static let workers = ReviewWorkers(threads: 1)

    /// An AdmissionReview of a CREATE of a meshed Deployment (its pod template asks for strict
    /// mTLS), as the API server sends it.
    static func review(uid: String) -> Data {
        let object: [String: Any] = [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web", "namespace": "default"],
            "spec": ["template": ["metadata": ["annotations": ["config.nsm.nginx.com/mtls-mode": "strict"]],
                                  "spec": ["containers": [["name": "app", "image": "nginx"]]]]],
        ]
        let request: [String: Any] = [
            "uid": uid, "kind": ["group": "apps", "version": "v1", "kind": "Deployment"],
            "resource": ["group": "apps", "version": "v1", "resource": "deployments"],
            "name": "web", "namespace": "default", "operation": "CREATE", "userInfo": ["username": "alice"], "object": object,
        ]
        let review: [String: Any] = ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request]
        return (try? JSONSerialization.data(withJSONObject: review)) ?? Data()
    }
}
