import Foundation
import Testing
@testable import ClusterState

@Suite("kubeconfig and in-cluster configuration")
struct KubeConfigurationTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mtls-guard-kubeconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    @Test func readsEveryFieldOfTheCurrentContext() throws {
        let dir = try Self.folder()
        try Self.write("CA PEM", to: dir.appendingPathComponent("pki/ca.crt"))
        try Self.write("CERT PEM", to: dir.appendingPathComponent("pki/client.crt"))
        try Self.write("KEY PEM", to: dir.appendingPathComponent("pki/client.key"))
        let kubeconfig = dir.appendingPathComponent("config")
        try Self.write("""
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: other
              cluster: {server: "https://other.example:1"}
            - name: prod-cluster
              cluster:
                server: https://api.example.com:6443/prefix/
                certificate-authority: pki/ca.crt
                tls-server-name: kubernetes.default.svc
                insecure-skip-tls-verify: false
            contexts:
            - name: prod
              context: {cluster: prod-cluster, user: admin, namespace: x}
            users:
            - name: admin
              user:
                client-certificate: pki/client.crt
                client-key: pki/client.key
                tokenFile: pki/token
            """, to: kubeconfig)
        let configuration = try KubeConfiguration.load(kubeconfig: kubeconfig.path)
        #expect(configuration.scheme == "https")
        #expect(configuration.host == "api.example.com")
        #expect(configuration.port == 6443)
        #expect(configuration.pathPrefix == "/prefix")
        #expect(configuration.certificateAuthorityPEM == Array("CA PEM".utf8))
        #expect(configuration.tlsServerName == "kubernetes.default.svc")
        #expect(configuration.verifiedServerName == "kubernetes.default.svc")
        #expect(configuration.insecureSkipTLSVerify == false)
        #expect(configuration.clientCertificatePEM == Array("CERT PEM".utf8))
        #expect(configuration.clientKeyPEM == Array("KEY PEM".utf8))
        #expect(configuration.token == nil)
        // Relative to the kubeconfig's folder, not the working directory.
        #expect(configuration.tokenFile == dir.appendingPathComponent("pki/token").standardizedFileURL.path)
        #expect(configuration.origin.contains("context prod"))
    }

    @Test func inlineDataTokenAndIPServer() throws {
        let dir = try Self.folder()
        let kubeconfig = dir.appendingPathComponent("config")
        let ca = Data("INLINE CA".utf8).base64EncodedString()
        let cert = Data("INLINE CERT".utf8).base64EncodedString()
        let key = Data("INLINE KEY".utf8).base64EncodedString()
        try Self.write("""
            current-context: c
            clusters:
            - name: k
              cluster:
                server: https://[::1]
                certificate-authority-data: \(ca)
                insecure-skip-tls-verify: true
            contexts:
            - name: c
              context: {cluster: k, user: u}
            - name: other
              context: {cluster: k}
            users:
            - name: u
              user:
                token: abc.def
                client-certificate-data: \(cert)
                client-key-data: \(key)
            """, to: kubeconfig)
        let configuration = try KubeConfiguration.load(kubeconfig: kubeconfig.path)
        #expect(configuration.host == "::1")
        #expect(configuration.port == 443)
        #expect(configuration.certificateAuthorityPEM == Array("INLINE CA".utf8))
        #expect(configuration.insecureSkipTLSVerify)
        #expect(configuration.token == "abc.def")
        #expect(configuration.clientCertificatePEM == Array("INLINE CERT".utf8))
        #expect(configuration.clientKeyPEM == Array("INLINE KEY".utf8))
        #expect(configuration.serverDescription == "https://[::1]:443")

        let other = try KubeConfiguration.load(kubeconfig: kubeconfig.path, context: "other")
        #expect(other.token == nil && other.tokenFile == nil && other.clientCertificatePEM == nil)
    }

    @Test(arguments: [
        ("exec", "exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws", "exec plugin"),
        ("auth-provider", "auth-provider:\n      name: gcp", "auth-provider"),
    ])
    func refusesPluginUsers(name: String, user: String, expected: String) throws {
        let dir = try Self.folder()
        let kubeconfig = dir.appendingPathComponent("config")
        try Self.write("""
            current-context: c
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
            contexts: [{name: c, context: {cluster: k, user: u}}]
            users:
            - name: u
              user:
                \(user)
            """, to: kubeconfig)
        let error = #expect(throws: KubeConfigurationError.self) { try KubeConfiguration.load(kubeconfig: kubeconfig.path) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("clusters: []\ncontexts: []\nusers: []", "no current-context"),
        ("current-context: c\ncontexts: []", "context \"c\" is not defined"),
        ("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: []", "cluster of context"),
        ("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, cluster: {server: 'ftp://x'}}]", "not an https:// URL"),
        ("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {client-certificate-data: QQ==}}]", "without its key"),
        ("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, cluster: {server: 'https://x', certificate-authority: missing.crt}}]", "cannot read certificate-authority"),
    ])
    func reportsUnusableFiles(text: String, expected: String) throws {
        let dir = try Self.folder()
        let kubeconfig = dir.appendingPathComponent("config")
        try Self.write(text, to: kubeconfig)
        let error = #expect(throws: KubeConfigurationError.self) { try KubeConfiguration.load(kubeconfig: kubeconfig.path) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func tokenNeverAppearsInErrors() throws {
        let dir = try Self.folder()
        let kubeconfig = dir.appendingPathComponent("config")
        try Self.write("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: 'notaurl'}}]\nusers: [{name: u, user: {token: s3cr3t-token}}]", to: kubeconfig)
        let error = #expect(throws: KubeConfigurationError.self) { try KubeConfiguration.load(kubeconfig: kubeconfig.path) }
        #expect(error?.description.contains("s3cr3t") == false)
    }

    @Test func inClusterFromEnvironmentAndServiceAccountFiles() throws {
        let dir = try Self.folder()
        #expect(try KubeConfiguration.inCluster(environment: [:], serviceAccountDirectory: dir.path) == nil)
        let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        #expect(throws: KubeConfigurationError.self) {
            try KubeConfiguration.inCluster(environment: environment, serviceAccountDirectory: dir.path)
        }
        try Self.write("token-1\n", to: dir.appendingPathComponent("token"))
        try Self.write("SA CA", to: dir.appendingPathComponent("ca.crt"))
        let configuration = try #require(try KubeConfiguration.inCluster(environment: environment, serviceAccountDirectory: dir.path))
        #expect(configuration.host == "10.96.0.1")
        #expect(configuration.port == 443)
        #expect(configuration.verifiedServerName == "10.96.0.1")
        #expect(configuration.certificateAuthorityPEM == Array("SA CA".utf8))
        #expect(configuration.tokenFile == dir.appendingPathComponent("token").path)
    }

    @Test func kubeconfigEnvironmentUsesTheFirstPath() {
        #expect(KubeConfiguration.kubeconfigPath(environment: [:]) == nil)
        #expect(KubeConfiguration.kubeconfigPath(environment: ["KUBECONFIG": "/a/config:/b/config"]) == "/a/config")
        #expect(KubeConfiguration.kubeconfigPath(environment: ["KUBECONFIG": ":/b/config"]) == "/b/config")
    }

    @Test func bearerTokenIsReReadAfterInvalidation() throws {
        let dir = try Self.folder()
        let file = dir.appendingPathComponent("token")
        try Self.write("first\n", to: file)
        let token = BearerToken(fixed: nil, file: file.path, reloadInterval: .seconds(3600))
        #expect(token.current() == "first")
        try Self.write("second", to: file)
        #expect(token.current() == "first", "cached within the reload interval")
        #expect(token.invalidate())
        #expect(token.current() == "second")
        let fixed = BearerToken(fixed: "fixed", file: nil)
        #expect(fixed.current() == "fixed")
        #expect(!fixed.invalidate())
    }
}
