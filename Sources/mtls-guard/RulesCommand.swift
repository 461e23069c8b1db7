import ArgumentParser
import Foundation
import Rules

/// `mtls-guard rules`: the rule catalogue this binary enforces, from `RuleCatalogue`.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Print the rule catalogue: every rule ID with its severity, state, kinds and fix.",
        discussion: "docs/rules.md is the markdown output of this command.")

    /// `--output` of `rules`: the report formats plus markdown.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, markdown
    }

    @Option(help: "text, json or markdown.")
    var output: Format = .text

    func run() throws {
        switch output {
        case .text: print(RuleCatalogueDocument.text(), terminator: "")
        case .markdown: print(RuleCatalogueDocument.markdown(), terminator: "")
        case .json: print(try RuleCatalogueDocument.json())
        }
    }
}
