import Certificates
import Foundation
import Testing

/// Certificates generated at test time, so that nothing in the repository can expire.
enum TestPKI {
    static func root(_ name: String = "test-root", pathLength: Int? = nil, keyType: KeyType = .ecdsaP256) throws -> IssuedCertificate {
        try CertificateFactory.selfSigned(CertificateRequest(commonName: name, organization: "Example", isCA: true, pathLength: pathLength, keyType: keyType))
    }

    static func intermediate(_ name: String, by issuer: IssuedCertificate, pathLength: Int? = nil, keyType: KeyType = .ecdsaP256) throws -> IssuedCertificate {
        try CertificateFactory.issue(CertificateRequest(commonName: name, organization: "Example", isCA: true, pathLength: pathLength, keyType: keyType), by: issuer)
    }

    static func leaf(
        _ name: String = "client", by issuer: IssuedCertificate, sans: [String] = [], keyType: KeyType = .ecdsaP256,
        notBefore: Date = Date(timeIntervalSinceNow: -300), notAfter: Date = Date(timeIntervalSinceNow: 86400)
    ) throws -> IssuedCertificate {
        try CertificateFactory.issue(CertificateRequest(commonName: name, sans: sans, notBefore: notBefore, notAfter: notAfter, keyType: keyType), by: issuer)
    }

    /// Root first, then `count` intermediates, each issued by the one before.
    static func caChain(intermediates count: Int, keyType: KeyType = .ecdsaP256) throws -> [IssuedCertificate] {
        var chain = [try root(keyType: keyType)]
        for index in 0..<count {
            chain.append(try intermediate("intermediate-\(index + 1)", by: chain[chain.count - 1], keyType: keyType))
        }
        return chain
    }

    static func pem(_ certificates: [IssuedCertificate]) -> [UInt8] {
        Array(certificates.map(\.certificatePEM).joined().utf8)
    }
}

/// The `openssl` command line tool, the reference these tests compare against.
enum OpenSSLCLI {
    struct Run {
        let status: Int32
        let output: String
    }

    static func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
