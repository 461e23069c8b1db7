import ArgumentParser
import Certificates
import Foundation

/// `mtls-guard certs`: a CA and serving certificate for the in-cluster Service.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Write a CA and a serving certificate for the webhook Service.",
        discussion: """
            SANs: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local. Writes ca.crt, ca.key, tls.crt,
            tls.key (keys mode 0600). Put tls.crt/tls.key in the webhook's Secret and base64(ca.crt) in
            the ValidatingWebhookConfiguration's caBundle (or let cert-manager do both).
            """)

    @Option(help: "Output directory.")
    var out: String
    @Option(help: "Service name.")
    var service = "mtls-guard"
    @Option(help: "Service namespace.")
    var namespace = "mtls-guard"
    @Option(help: "Validity in days.")
    var days = 365
    @Flag(help: "RSA 2048 keys instead of ECDSA P-256.")
    var rsa = false

    func run() throws {
        let sans = [service, "\(service).\(namespace)", "\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster.local"]
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (_, serving) = try ServingCertificateSet.write(
            to: directory, commonName: "\(service).\(namespace).svc", sans: sans,
            keyType: rsa ? .rsa2048 : .ecdsaP256, validity: TimeInterval(days) * 24 * 3600)
        print("wrote \(out)/ca.crt, ca.key, tls.crt, tls.key")
        print("SANs: \(serving.certificate.subjectAlternativeNames.joined(separator: ", "))")
        print("notAfter: \(serving.certificate.notAfter.formatted(.iso8601))")
    }
}
