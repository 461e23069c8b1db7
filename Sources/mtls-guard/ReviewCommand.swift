import ArgumentParser
import Foundation
import KubeModel
import Rules
import Webhook

/// `mtls-guard review`: answers one AdmissionReview from stdin exactly as the server would.
struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Answer one AdmissionReview (JSON on stdin) exactly as `serve` would.",
        discussion: """
            Exit status: 0 allowed, 1 denied, 2 unreadable input (the JSON error the server would send
            with HTTP 400 is printed on stdout).
            """)

    @Option(help: "enforce, warn or audit.")
    var mode: ReviewMode = .enforce
    @Option(parsing: .upToNextOption, help: "Manifests (files or directories) that form the cluster view.")
    var state: [String] = []
    @OptionGroup var rules: RuleSettingsOptions

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let request: AdmissionRequest
        do {
            request = try AdmissionReview.decodeRequest(from: input)
        } catch {
            print(String(decoding: AdmissionWire.badRequestBody(error.description), as: UTF8.self))
            throw ExitCode(2)
        }
        let snapshot: (any ClusterSnapshot)? = state.isEmpty ? nil : InMemorySnapshot(objects: try loadManifests(state).map(\.object))
        let settings = rules.settings
        let outcome = AdmissionReviewer(mode: mode, settings: { settings }).review(request, snapshot: snapshot)
        print(String(decoding: AdmissionWire.responseBody(outcome.response), as: UTF8.self))
        if !outcome.response.allowed { throw ExitCode(1) }
    }
}
