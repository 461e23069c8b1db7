import ArgumentParser
import Foundation
import Rules

/// The rule settings every command that runs the engine shares.
struct RuleSettingsOptions: ParsableArguments {
    @Option(help: "Mesh-wide NGINX Service Mesh mTLS mode.")
    var meshMTLSMode: MeshMTLSMode = .permissive
    @Flag(help: "Deny (instead of warn) when a referenced Policy or Secret does not exist.")
    var strictReferences = false
    @Option(help: "Warn when a certificate expires within this many days.")
    var expiryWindowDays: Double = 30
    @Option(name: .customLong("ingress-class"), help: "Ingress class to check (repeatable; default nginx).")
    var ingressClasses: [String] = []

    var settings: Settings {
        Settings(
            meshMTLSMode: meshMTLSMode,
            strictReferences: strictReferences,
            expiryWarningWindow: expiryWindowDays * 24 * 3600,
            ingressClasses: ingressClasses.isEmpty ? ["nginx"] : Set(ingressClasses),
            now: Date())
    }
}
