import ArgumentParser
import ClusterState
import Logging

/// Where the live cluster view comes from, shared by `serve` and `audit`: `--kubeconfig`, else
/// `$KUBECONFIG`'s first file, else the pod's service account.
struct ClusterConnectionOptions: ParsableArguments {
    @Option(help: "kubeconfig of the cluster (default: $KUBECONFIG's first file, else the pod's service account).")
    var kubeconfig: String?
    @Option(help: "With --kubeconfig: the context to use instead of current-context.")
    var context: String?
    @Option(help: .hidden) var serviceAccountDir = KubeConfiguration.serviceAccountDirectory

    func validate() throws {
        if context != nil && kubeconfig == nil && KubeConfiguration.kubeconfigPath() == nil {
            throw ValidationError("--context needs --kubeconfig or $KUBECONFIG")
        }
    }

    /// The configuration found; `nil` when there is none (not in a pod, no kubeconfig).
    func configuration() throws -> KubeConfiguration? {
        do {
            if let path = kubeconfig ?? KubeConfiguration.kubeconfigPath() {
                return try KubeConfiguration.load(kubeconfig: path, context: context)
            }
            return try KubeConfiguration.inCluster(serviceAccountDirectory: serviceAccountDir)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// A client of the API server `configuration` names, its bearer token re-read every `tokenReload`.
    static func client(for configuration: KubeConfiguration, tokenReload: Duration, logger: Logger) throws -> (APIClient, BearerToken) {
        let token = BearerToken(fixed: configuration.token, file: configuration.tokenFile, reloadInterval: tokenReload)
        do {
            let client = try APIClient(configuration: configuration, token: token)
            if configuration.insecureSkipTLSVerify {
                logger.warning("insecure-skip-tls-verify: the API server's certificate is NOT verified")
            }
            return (client, token)
        } catch {
            throw ValidationError("cannot use the API server's TLS settings from \(configuration.origin): \(error)")
        }
    }
}
