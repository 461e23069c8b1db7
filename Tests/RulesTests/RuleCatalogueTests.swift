import Foundation
import Testing
@testable import Rules

/// The package root, found from this file's path (Tests/RulesTests/RuleCatalogueTests.swift).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `RuleCatalogue` is the one source of truth: every ID a rule can emit is in it, and docs/rules.md and
/// `mtls-guard rules` are rendered from it.
@Suite struct RuleCatalogueTests {
    /// Rule IDs written as string literals in the rule sources: every finding's ID is such a literal
    /// (`Finding(rule: "ingress/policy-ref", ...)`, `static let ca: RuleID = "secret/ca"`). Comment lines are skipped.
    static func emittableIDs() throws -> Set<RuleID> {
        let directory = packageRoot.appendingPathComponent("Sources/Rules")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".swift") && !$0.hasPrefix("RuleCatalogue") }
        #expect(files.count >= 10, "Sources/Rules not found at \(directory.path)")
        let literal = try Regex(#""([a-z][a-z0-9]*(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*)""#)
        var ids = Set<RuleID>()
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for match in line.matches(of: literal) {
                    if let id = match.output[1].substring { ids.insert(RuleID(String(id))) }
                }
            }
        }
        return ids
    }

    @Test func catalogueIsExactlyTheIDsRulesCanEmit() throws {
        let emittable = try Self.emittableIDs()
        let catalogued = Set(RuleCatalogue.ids)
        #expect(emittable.subtracting(catalogued).isEmpty, "emitted but not catalogued: \(emittable.subtracting(catalogued).sorted())")
        #expect(catalogued.subtracting(emittable).isEmpty, "catalogued but never emitted: \(catalogued.subtracting(emittable).sorted())")
    }

    @Test func everyIDOnceWithItsFacts() {
        let ids = RuleCatalogue.ids
        #expect(Set(ids).count == ids.count)
        #expect(ids.count == 67)
        for rule in RuleCatalogue.all {
            #expect(RuleCatalogue.sections[rule.section] != nil, "\(rule.id)")
            #expect(!rule.kinds.isEmpty, "\(rule.id)")
            #expect(rule.description.count > 40 && !rule.description.contains("\n"), "\(rule.id): one paragraph")
        }
        #expect(RuleCatalogue.descriptor(for: "ingress-mtls/foreign-client-auth")?.severity == .deny)
        #expect(RuleCatalogue.descriptor(for: "ingress/foreign-mtls-annotation")?.severity == .warn)
        #expect(RuleCatalogue.descriptor(for: "egress-mtls/ssl-name-missing")?.checkedByController == false)
        #expect(RuleCatalogue.descriptor(for: "ingress-mtls/optional-client")?.severity == .warn)
        #expect(RuleCatalogue.descriptor(for: "ingress-mtls/host-without-tls")?.checkedByController == false)
        #expect(RuleCatalogue.descriptor(for: "ingress/policy-ref")?.checkedByController == true)
    }

    @Test func markdownHasEverySectionAndRule() {
        let markdown = RuleCatalogueDocument.markdown()
        for (number, title) in RuleCatalogue.sections { #expect(markdown.contains("## \(number). \(title)\n")) }
        for rule in RuleCatalogue.all {
            #expect(markdown.contains("\n### `\(rule.id)`\n\n\(rule.description)\n"))
            #expect(markdown.contains("[`\(rule.id)`](#\(RuleCatalogueDocument.anchor(rule.id))) | \(rule.severity.rawValue) |"))
        }
        #expect(RuleCatalogueDocument.anchor("ingress-mtls/host-without-tls") == "ingress-mtlshost-without-tls")
    }

    @Test func jsonListsEveryRule() throws {
        struct Document: Decodable {
            struct Entry: Decodable { var id: String; var severity: String; var needsState: Bool; var kinds: [String]; var checkedBy: String }
            var rules: [Entry]
        }
        let document = try JSONDecoder().decode(Document.self, from: Data(try RuleCatalogueDocument.json().utf8))
        #expect(document.rules.map(\.id) == RuleCatalogue.ids.map(\.rawValue))
        #expect(document.rules.first { $0.id == "mesh/mtls-off" }?.checkedBy == "beyond NSM")
        #expect(document.rules.first { $0.id == "policy/one-type" }?.checkedBy == "NIC")
    }

    @Test func textNamesEveryRule() {
        let text = RuleCatalogueDocument.text()
        for rule in RuleCatalogue.all { #expect(text.contains("  \(rule.id) [\(rule.severity.rawValue)]")) }
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 200 })
    }

    /// docs/rules.md is committed; it must be what the catalogue renders today.
    @Test func docsRulesMarkdownIsCurrent() throws {
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("docs/rules.md"), encoding: .utf8)
        #expect(committed == RuleCatalogueDocument.markdown(),
                "docs/rules.md differs from `mtls-guard rules --output markdown`: run `make docs` and commit docs/rules.md")
    }

    /// The same through the built binary, as `make docs` produces it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: packageRoot.appendingPathComponent(".build/debug/mtls-guard").path)))
    func rulesCommandPrintsTheCommittedMarkdown() throws {
        let process = Process()
        process.executableURL = packageRoot.appendingPathComponent(".build/debug/mtls-guard")
        process.arguments = ["rules", "--output", "markdown"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("docs/rules.md"), encoding: .utf8)
        #expect(String(decoding: data, as: UTF8.self) == committed,
                "docs/rules.md differs from `mtls-guard rules --output markdown`: run `make docs` and commit docs/rules.md")
    }
}
