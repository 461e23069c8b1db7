import ArgumentParser
import Foundation

@main
struct MTLSGuard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtls-guard",
        abstract: "Validates NGINX Ingress Controller and NGINX Service Mesh mTLS configuration.",
        subcommands: [
            ServeCommand.self, ValidateCommand.self, ReviewCommand.self, AuditCommand.self,
            CheckUpstreamCACommand.self, CertsCommand.self,
        ]
    )

    /// ArgumentParser exits 64 on usage errors; the CLI contract (DESIGN.md) says 2.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
