import ArgumentParser
import Foundation
import Rules

/// The rule settings every command that runs the engine shares (serve, review, validate).
struct RuleSettingsOptions: ParsableArguments {
    @Option(help: "Mesh-wide NGINX Service Mesh mTLS mode.")
    var meshMTLSMode: MeshMTLSMode = .permissive
    @Flag(help: "Deny (instead of warn) when a referenced Policy or Secret does not exist.")
    var strictReferences = false
    @OptionGroup var expiryWindow: ExpiryWindowOptions
    @Option(name: .customLong("ingress-class"), help: "Ingress class to check (repeatable; default nginx).")
    var ingressClasses: [String] = []
    @Flag(help: "NIC runs with -wildcard-tls-secret: a VirtualServer's tls: {} and an Ingress tls entry without secretName are served with it.")
    var nicWildcardTLS = false

    var settings: Settings {
        Settings(
            meshMTLSMode: meshMTLSMode,
            strictReferences: strictReferences,
            expiryWarningWindow: expiryWindow.seconds,
            ingressClasses: ingressClasses.isEmpty ? ["nginx"] : Set(ingressClasses),
            nicWildcardTLS: nicWildcardTLS,
            now: Date())
    }
}

/// `--expiry-window-days`, for every command that judges certificate expiry (also check-upstream-ca).
struct ExpiryWindowOptions: ParsableArguments {
    @Option(help: "Warn when a certificate expires within this many days.")
    var expiryWindowDays: Double = 30

    func validate() throws {
        guard expiryWindowDays >= 0, expiryWindowDays.isFinite else {
            throw ValidationError("--expiry-window-days must be a non-negative number")
        }
    }

    /// The window in seconds, as `Settings.expiryWarningWindow` takes it.
    var seconds: TimeInterval { expiryWindowDays * 24 * 3600 }
}

extension MeshMTLSMode: ExpressibleByArgument {}
