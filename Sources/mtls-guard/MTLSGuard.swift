import ArgumentParser
import Foundation

@main
struct MTLSGuard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtls-guard",
        abstract: "Validates NGINX Ingress Controller and NGINX Service Mesh mTLS configuration.",
        version: MTLSGuard.version,
        subcommands: [
            ServeCommand.self, ValidateCommand.self, ReviewCommand.self, AuditCommand.self,
            CheckUpstreamCACommand.self, CertsCommand.self, RulesCommand.self,
        ]
    )

    /// Printed by `--version`; raise it with each release (the container image tags follow it).
    static let version = "0.1.0"

    /// ArgumentParser exits 64 on usage errors; the CLI's contract (README) is 2 for unusable input.
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
