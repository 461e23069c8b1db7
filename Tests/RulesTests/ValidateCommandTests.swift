import Foundation
import Testing

/// The package root, found from this file's path (Tests/RulesTests/ValidateCommandTests.swift).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let validateBinary = packageRoot.appendingPathComponent(".build/debug/mtls-guard")

/// `mtls-guard validate` end to end: the built binary, run as CI would. `swift test` builds it with the tests.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: validateBinary.path), "build the mtls-guard product first (swift build)"))
struct ValidateCommandTests {
    static let binary = validateBinary
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/rules/cli").path

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["validate"] + arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                   stderr: String(decoding: stderrData, as: UTF8.self))
    }

    @Test func goodDirectoryExitsZero() throws {
        let run = try Self.run(["\(Self.fixtures)/good"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.hasSuffix("4 objects, 0 denied, 2 warned\n"), "\(run.stdout)")
    }

    @Test func denyFindingsExitOneWithTextLines() throws {
        let run = try Self.run(["\(Self.fixtures)/bad/policy.yaml"])
        #expect(run.status == 1)
        // file:line:col of the offending field, as editors and CI logs link it
        #expect(run.stdout.contains("\(Self.fixtures)/bad/policy.yaml:9:5: Policy cafe/unquoted: spec.ingressMTLS.verifyClient: Invalid value: true"), "\(run.stdout)")
        #expect(run.stdout.contains("(ingress-mtls/verify-client) [deny]"))
    }

    @Test func mixedGoodAndBadFilesInJSON() throws {
        let run = try Self.run(["--output", "json", "\(Self.fixtures)/good", "\(Self.fixtures)/bad"])
        #expect(run.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let summary = try #require(json["summary"] as? [String: Int])
        #expect(summary == ["objects": 5, "denied": 1, "warned": 2])
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.count == 5)
        for result in results {
            #expect(Set(result.keys) == ["apiVersion", "kind", "namespace", "name", "source", "findings"])
        }
        let configMap = try #require(results.first { $0["kind"] as? String == "ConfigMap" })
        #expect(configMap["namespace"] as? String == "default")
        #expect(configMap["source"] as? String == "\(Self.fixtures)/good/list.json#doc1/items[0]")
        let namespace = try #require(results.first { $0["kind"] as? String == "Namespace" })
        #expect(namespace["namespace"] is NSNull)
        let policy = try #require(results.first { $0["name"] as? String == "unquoted" })
        let findings = try #require(policy["findings"] as? [[String: String]])
        #expect(findings.contains { $0["rule"] == "ingress-mtls/verify-client" && $0["severity"] == "deny" && $0["field"] == "spec.ingressMTLS.verifyClient" })
        #expect(findings.allSatisfy { Set($0.keys) == ["rule", "severity", "field", "message"] })
    }

    @Test func githubWorkflowCommands() throws {
        let run = try Self.run(["--output", "github", "\(Self.fixtures)/bad/policy.yaml"])
        #expect(run.status == 1)
        let file = "\(Self.fixtures)/bad/policy.yaml".replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        #expect(run.stdout.contains("::error file=\(file),line=9,col=5,title=ingress-mtls/verify-client::Policy cafe/unquoted: spec.ingressMTLS.verifyClient: "), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("1 objects, 1 denied, 0 warned\n"))
    }

    @Test func sarifHasRulesResultsAndLocations() throws {
        let run = try Self.run(["--output", "sarif", "\(Self.fixtures)/good", "\(Self.fixtures)/bad"])
        #expect(run.status == 1)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let sarifRun = try #require((log["runs"] as? [[String: Any]])?.first)
        let driver = try #require((sarifRun["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.contains { $0["id"] as? String == "ingress-mtls/verify-client" })
        let results = try #require(sarifRun["results"] as? [[String: Any]])
        let verify = try #require(results.first { $0["ruleId"] as? String == "ingress-mtls/verify-client" })
        #expect(verify["level"] as? String == "error")
        let index = try #require(verify["ruleIndex"] as? Int)
        #expect(rules[index]["id"] as? String == "ingress-mtls/verify-client")
        let physical = try #require(((verify["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any])
        #expect((physical["artifactLocation"] as? [String: Any])?["uri"] as? String == "file://\(Self.fixtures)/bad/policy.yaml")
        let region = try #require(physical["region"] as? [String: Int])
        #expect(region == ["startLine": 9, "startColumn": 5])
        #expect(results.contains { $0["level"] as? String == "warning" })  // the good directory's two warnings
    }

    @Test func stdinDash() throws {
        let run = try Self.run(["-", "--output", "json"], stdin: "apiVersion: k8s.nginx.org/v1\nkind: Policy\nmetadata: {name: p}\nspec: {}\n")
        #expect(run.status == 1)
        #expect(run.stdout.contains("\"source\" : \"-#doc1\""))
        #expect(run.stdout.contains("policy/one-type"))
    }

    @Test func strictReferencesTurnsMissingSecretsIntoDenials() throws {
        #expect(try Self.run(["--strict-references", "\(Self.fixtures)/good"]).status == 1)
    }

    @Test func otherIngressClassIsSkipped() throws {
        let ingress = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, annotations: {nginx.org/policies: \"a,,b\"}}\nspec: {ingressClassName: internal}\n"
        #expect(try Self.run(["-"], stdin: ingress).status == 0)
        #expect(try Self.run(["--ingress-class", "internal", "--ingress-class", "nginx", "-"], stdin: ingress).status == 1)
    }

    /// NIC with -wildcard-tls-secret serves a VirtualServer's `tls: {}`: only --nic-wildcard-tls says so.
    @Test func nicWildcardTLSLetsAnEmptyTLSBlockPass() throws {
        let manifests = """
            apiVersion: k8s.nginx.org/v1
            kind: Policy
            metadata: {name: mtls, namespace: ns}
            spec: {ingressMTLS: {clientCertSecret: ca}}
            ---
            apiVersion: k8s.nginx.org/v1
            kind: VirtualServer
            metadata: {name: vs, namespace: ns}
            spec: {host: a.example.com, tls: {}, policies: [{name: mtls}]}
            """
        let without = try Self.run(["-"], stdin: manifests)
        #expect(without.status == 1)
        #expect(without.stdout.contains("spec.tls.secret: Required value") && without.stdout.contains("(ingress-mtls/vs-tls-required) [deny]"))
        let with = try Self.run(["--nic-wildcard-tls", "-"], stdin: manifests)
        #expect(!with.stdout.contains("ingress-mtls/vs-tls-required"), "\(with.stdout)")
        #expect(with.status == 0, "\(with.stdout)")
    }

    @Test func unreadableInputExitsTwoNamingFileAndDocument() throws {
        let run = try Self.run(["\(Self.fixtures)/broken.yaml"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(Self.fixtures)/broken.yaml#doc2"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test(arguments: [["/no/such/file.yaml"], [], ["--output", "xml", "x"], ["--mesh-mtls-mode", "maybe", "x"]])
    func usageOrMissingInputExitsTwo(_ arguments: [String]) throws {
        let run = try Self.run(arguments)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(!run.stderr.isEmpty)
    }
}
