import Testing
@testable import ClusterState

@Suite("Sources and request paths")
struct WatchSourceTests {
    @Test func secretsAreOnlyEverRequestedByType() {
        let secretSources = WatchSource.allCases.filter { $0.resource == "secrets" }
        #expect(secretSources.map(\.fieldSelector) == ["type=nginx.org/ca", "type=kubernetes.io/tls"])
        #expect(WatchSource.allCases.filter { $0.resource != "secrets" }.allSatisfy { $0.fieldSelector == nil })
    }

    @Test func pathsAndNames() {
        #expect(WatchSource.policies.collectionPath == "/apis/k8s.nginx.org/v1/policies")
        #expect(WatchSource.ingresses.collectionPath == "/apis/networking.k8s.io/v1/ingresses")
        #expect(WatchSource.caSecrets.collectionPath == "/api/v1/secrets")
        #expect(WatchSource.tlsSecrets.objectPath(namespace: "cafe", name: "tls-secret") == "/api/v1/namespaces/cafe/secrets/tls-secret")
        #expect(WatchSource.caSecrets.displayName == "secrets (type=nginx.org/ca)")
        #expect(WatchSource.virtualServerRoutes.displayName == "virtualserverroutes.k8s.nginx.org")
        #expect(WatchSource.allCases.filter(\.isCustomResource).count == 3)
    }

    @Test func queryValuesAreEscapedAsGoDoes() {
        let uri = APIClient.uri("/api/v1/secrets", query: [("fieldSelector", "type=nginx.org/ca"), ("continue", "a+b/c=")])
        #expect(uri == "/api/v1/secrets?fieldSelector=type%3Dnginx.org%2Fca&continue=a%2Bb%2Fc%3D")
        #expect(APIClient.uri("/api", query: []) == "/api")
    }
}
