import Foundation
import KubeModel

/// Where the API server is and how to authenticate to it: from the pod's service account, or
/// from a kubeconfig file (`--kubeconfig`, `$KUBECONFIG`).
///
/// Credentials are kept as bytes only until the TLS context is built; the bearer token is never
/// stored here when it comes from a file (`BearerToken` re-reads it), and never printed.
public struct KubeConfiguration: Sendable {
    /// `https` (or `http`, only for tests that say so).
    public var scheme: String
    /// Host from the server URL: a DNS name or an IP literal (without brackets).
    public var host: String
    public var port: Int
    /// Path prefix of the server URL (`https://host/prefix`), without a trailing slash.
    public var pathPrefix: String
    /// PEM bundle of CAs that sign the API server's certificate; `nil`: the system store.
    public var certificateAuthorityPEM: [UInt8]?
    /// The name verified in the server's certificate and sent as SNI, when it differs from `host`.
    public var tlsServerName: String?
    /// `insecure-skip-tls-verify`: the server's certificate is not verified. Logged loudly.
    public var insecureSkipTLSVerify = false
    /// Client certificate chain (PEM) for certificate authentication.
    public var clientCertificatePEM: [UInt8]?
    /// Client private key (PEM); used once to build the TLS context.
    public var clientKeyPEM: [UInt8]?
    /// A fixed bearer token (`token` in the kubeconfig).
    public var token: String?
    /// A file holding the bearer token, re-read while running (`tokenFile`, the service account's `token`).
    public var tokenFile: String?
    /// Where this configuration came from, for the start-up log line (never holds credentials).
    public var origin: String

    public init(scheme: String = "https", host: String, port: Int, pathPrefix: String = "", origin: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
        self.origin = origin
    }

    /// The name the server's certificate must carry: `tls-server-name`, else the URL's host.
    public var verifiedServerName: String { tlsServerName ?? host }

    /// `https://host:port` for logs.
    public var serverDescription: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost):\(port)\(pathPrefix)"
    }

    // MARK: - In a pod

    /// The service account directory every pod gets.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The in-cluster configuration, as client-go's `rest.InClusterConfig` builds it:
    /// `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the service account's `token` (a file,
    /// re-read while running) and `ca.crt`. `nil` when not in a pod (the variables are unset).
    /// - Throws: `KubeConfigurationError` when the variables are set but the files are unusable.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 serviceAccountDirectory: String = serviceAccountDirectory) throws(KubeConfigurationError) -> KubeConfiguration? {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let portText = environment["KUBERNETES_SERVICE_PORT"], !portText.isEmpty
        else { return nil }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw KubeConfigurationError("KUBERNETES_SERVICE_PORT is not a port number: \(printable(portText))")
        }
        let directory = URL(fileURLWithPath: serviceAccountDirectory)
        let tokenFile = directory.appendingPathComponent("token").path
        let caFile = directory.appendingPathComponent("ca.crt").path
        guard FileManager.default.isReadableFile(atPath: tokenFile) else {
            throw KubeConfigurationError("in a pod (KUBERNETES_SERVICE_HOST is set) but \(tokenFile) is not readable: mount the service account token (automountServiceAccountToken)")
        }
        var configuration = KubeConfiguration(host: unbracketed(host), port: port, origin: "in-cluster service account")
        configuration.certificateAuthorityPEM = try readFile(caFile, what: "service account CA")
        configuration.tokenFile = tokenFile
        return configuration
    }

    // MARK: - kubeconfig

    /// The kubeconfig to use when none is given on the command line: the first path of
    /// `$KUBECONFIG` (client-go merges the list; the first file is where the current context
    /// usually lives), else `nil`. `~/.kube/config` is not read implicitly: `serve` on a
    /// workstation must say which cluster it watches.
    public static func kubeconfigPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let list = environment["KUBECONFIG"] else { return nil }
        return list.split(separator: ":").map(String.init).first { !$0.isEmpty }
    }

    /// Reads a kubeconfig file: its `current-context` (or `context`), that context's cluster and user.
    public static func load(kubeconfig path: String, context: String? = nil) throws(KubeConfigurationError) -> KubeConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KubeConfigurationError("cannot read kubeconfig \(path): \(error.localizedDescription)")
        }
        let document: JSONValue
        do {
            document = try ManifestLoader.document(from: data, source: path)
        } catch {
            throw KubeConfigurationError("kubeconfig \(error)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try parse(document, source: path, folder: folder, context: context)
    }

    /// Interprets a parsed kubeconfig; relative file paths resolve against `folder`.
    public static func parse(_ document: JSONValue, source: String, folder: URL, context requested: String? = nil) throws(KubeConfigurationError) -> KubeConfiguration {
        func fail(_ message: String) -> KubeConfigurationError { KubeConfigurationError("kubeconfig \(source): \(message)") }
        guard case .object = document else { throw fail("not a mapping") }
        guard let contextName = requested ?? document["current-context"]?.stringValue, !contextName.isEmpty else {
            throw fail("no current-context is set (kubectl config use-context NAME)")
        }
        guard let context = named(document["contexts"], contextName)?["context"] else {
            throw fail("context \(printable(contextName)) is not defined under contexts")
        }
        guard let clusterName = context["cluster"]?.stringValue, let cluster = named(document["clusters"], clusterName)?["cluster"] else {
            throw fail("the cluster of context \(printable(contextName)) is not defined under clusters")
        }
        let userName = context["user"]?.stringValue
        var user: JSONValue?
        if let userName {
            guard let entry = named(document["users"], userName) else {
                throw fail("user \(printable(userName)) of context \(printable(contextName)) is not defined under users")
            }
            user = entry["user"] ?? .object([:])
        }

        guard let server = cluster["server"]?.stringValue, !server.isEmpty else {
            throw fail("cluster \(printable(clusterName)) has no server")
        }
        var configuration = try parseServer(server, fail: fail)
        configuration.origin = "kubeconfig \(source), context \(contextName)"

        func string(_ value: JSONValue?, _ field: String) throws(KubeConfigurationError) -> String? {
            guard let value, !value.isNull else { return nil }
            guard let text = value.stringValue else { throw fail("\(field) must be a string") }
            return text.isEmpty ? nil : text
        }
        func path(_ value: String) -> String {
            value.hasPrefix("/") ? value : folder.appendingPathComponent(value).standardizedFileURL.path
        }
        func bytes(data field: String, file fileField: String, in object: JSONValue) throws(KubeConfigurationError) -> [UInt8]? {
            if let encoded = try string(object[field], field) {
                guard let decoded = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                    throw fail("\(field) is not valid base64")
                }
                return Array(decoded)
            }
            if let file = try string(object[fileField], fileField) {
                return try readFile(path(file), what: fileField)
            }
            return nil
        }

        configuration.certificateAuthorityPEM = try bytes(data: "certificate-authority-data", file: "certificate-authority", in: cluster)
        configuration.tlsServerName = try string(cluster["tls-server-name"], "tls-server-name")
        switch cluster["insecure-skip-tls-verify"] {
        case nil, .null?: break
        case .bool(let skip)?: configuration.insecureSkipTLSVerify = skip
        default: throw fail("insecure-skip-tls-verify must be true or false")
        }

        if let user {
            if user["exec"].map({ !$0.isNull }) == true {
                throw fail("user \(printable(userName ?? "")) authenticates with an exec plugin, which mtls-guard does not run; use a token, tokenFile or client certificate (for example a service account token)")
            }
            if user["auth-provider"].map({ !$0.isNull }) == true {
                throw fail("user \(printable(userName ?? "")) uses an auth-provider, which mtls-guard does not support; use a token, tokenFile or client certificate")
            }
            configuration.clientCertificatePEM = try bytes(data: "client-certificate-data", file: "client-certificate", in: user)
            configuration.clientKeyPEM = try bytes(data: "client-key-data", file: "client-key", in: user)
            if (configuration.clientCertificatePEM == nil) != (configuration.clientKeyPEM == nil) {
                throw fail("user \(printable(userName ?? "")) gives a client certificate without its key (or a key without its certificate)")
            }
            configuration.token = try string(user["token"], "token")
            if configuration.token == nil, let file = try string(user["tokenFile"], "tokenFile") {
                configuration.tokenFile = path(file)
            }
        }
        return configuration
    }

    /// Splits `https://host:port/prefix`; the port defaults to 443 (80 for http).
    static func parseServer(_ server: String, fail: (String) -> KubeConfigurationError) throws(KubeConfigurationError) -> KubeConfiguration {
        guard let components = URLComponents(string: server), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let rawHost = components.host, !rawHost.isEmpty
        else { throw fail("server \(printable(server)) is not an https:// URL") }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw fail("server \(printable(server)) has an invalid port") }
        var prefix = components.path
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return KubeConfiguration(scheme: scheme, host: unbracketed(rawHost), port: port, pathPrefix: prefix, origin: "")
    }

    /// The entry of a kubeconfig list (`clusters`, `contexts`, `users`) whose `name` is `name`.
    private static func named(_ list: JSONValue?, _ name: String) -> JSONValue? {
        list?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    private static func readFile(_ path: String, what: String) throws(KubeConfigurationError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw KubeConfigurationError("cannot read \(what) file \(path): \(error.localizedDescription)")
        }
    }

    static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    static func printable(_ text: String) -> String {
        "\"" + String(text.prefix(200).map { $0.isASCII && !$0.isNewline ? $0 : "?" }) + "\""
    }
}
