import ArgumentParser

@main
struct MTLSGuard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtls-guard",
        abstract: "Validates NGINX Ingress Controller and NGINX Service Mesh mTLS configuration.",
        subcommands: [
            ServeCommand.self, ValidateCommand.self, ReviewCommand.self,
            CheckUpstreamCACommand.self, CertsCommand.self,
        ]
    )
}
