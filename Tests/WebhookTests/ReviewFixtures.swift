import Foundation
@testable import Webhook

/// What the tests of the webhook's request paths share: a review body and the worker pool.
enum ReviewFixtures {
    /// One pool for the test process: its threads live as long as it.
    static let workers = ReviewWorkers(threads: 1)

    /// An AdmissionReview of a CREATE of `kind` (a meshed Deployment's shape: its pod template
    /// asks for strict mTLS), as the API server sends it.
    static func review(uid: String, kind: String = "Deployment", group: String = "apps") -> Data {
        let object: [String: Any] = [
            "apiVersion": group.isEmpty ? "v1" : "\(group)/v1", "kind": kind, "metadata": ["name": "web", "namespace": "default"],
            "spec": ["template": ["metadata": ["annotations": ["config.nsm.nginx.com/mtls-mode": "strict"]],
                                  "spec": ["containers": [["name": "app", "image": "nginx"]]]]],
        ]
        let request: [String: Any] = [
            "uid": uid, "kind": ["group": group, "version": "v1", "kind": kind],
            "resource": ["group": group, "version": "v1", "resource": kind.lowercased() + "s"],
            "name": "web", "namespace": "default", "operation": "CREATE", "userInfo": ["username": "alice"], "object": object,
        ]
        let review: [String: Any] = ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request]
        return (try? JSONSerialization.data(withJSONObject: review)) ?? Data()
    }
}

import Testing

@Suite struct HTTPDateTests {
    /// The `Date` header matches Foundation's formatting of the same second, across dates.
    @Test(arguments: [0, 951_782_400, 1_764_628_490, 4_107_542_399, -86_401])
    func httpDateMatchesFoundation(seconds: Int) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(HTTPDate.format(secondsSince1970: seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }
}
