import Foundation
import Testing
@testable import Webhook

@Suite struct WarningListTests {
    @Test func shortWarningIsKeptWhole() {
        let text = WarningList.format(prefix: "", field: "spec.tls", message: "Required value", rule: "ingress-mtls/tls-required")
        #expect(text == "spec.tls: Required value (ingress-mtls/tls-required)")
    }

    @Test func longMessageIsCutKeepingFieldAndRule() {
        let message = String(repeating: "very long explanation ", count: 20)
        let text = WarningList.format(prefix: "[deny] ", field: "spec.ingressMTLS.verifyClient", message: message, rule: "ingress-mtls/verify-client")
        #expect(text.count == WarningList.perWarningLimit)
        #expect(text.hasPrefix("[deny] spec.ingressMTLS.verifyClient: very long"))
        #expect(text.hasSuffix("… (ingress-mtls/verify-client)"))
    }

    /// The ASCII fast path and the character path cut at the same place: 120 characters either way,
    /// where a non-ASCII message counts characters, not bytes (a CR LF pair or é + combining mark is one).
    @Test(arguments: ["ascii only ", "caf\u{E9} na\u{EF}ve ", "e\u{301} and \r\n ", "\u{1F512} locked "])
    func cutsCountCharactersWhateverTheScript(word: String) {
        let message = String(repeating: word, count: 30)
        let text = WarningList.format(prefix: "[warn] ", field: "spec.tls", message: message, rule: "r/x")
        #expect(text.count == WarningList.perWarningLimit)
        #expect(text.hasPrefix("[warn] spec.tls: " + String(word.prefix(4))))
        #expect(text.hasSuffix("… (r/x)"))
        let exact = String(repeating: "m", count: WarningList.perWarningLimit - "spec.tls: ".count - " (r/x)".count)
        #expect(WarningList.format(prefix: "", field: "spec.tls", message: exact, rule: "r/x") == "spec.tls: \(exact) (r/x)")
        #expect(WarningList.format(prefix: "", field: "spec.tls", message: exact + "m", rule: "r/x").hasSuffix("m… (r/x)"))
    }

    @Test func veryLongFieldKeepsItsEndAndTheRule() {
        let field = "metadata.annotations[" + String(repeating: "x", count: 110) + "/the-end]"
        let text = WarningList.format(prefix: "", field: field, message: "Invalid value: something long", rule: "r/x")
        #expect(text.count <= WarningList.perWarningLimit)
        #expect(text.hasPrefix("…"))
        #expect(text.contains("/the-end]: Invalid value"))
        #expect(text.hasSuffix(" (r/x)"))
    }

    @Test func skippedStateWarningNamesWhatFitsAndCountsTheRest() {
        let rules = (1...12).map { "family/rule-number-\($0)" }
        let text = AdmissionReviewer.skippedStateWarning(rules)
        #expect(text.count <= WarningList.perWarningLimit)
        #expect(text.hasPrefix("cluster state unavailable, not checked: family/rule-number-1, "))
        let named = text.components(separatedBy: "family/rule-number-").count - 1
        #expect(text.hasSuffix(" and \(12 - named) more"))
        #expect(AdmissionReviewer.skippedStateWarning(["a/b"]) == "cluster state unavailable, not checked: a/b")
    }

    @Test(arguments: [0, 1, 10, 40, 200], [1, 50, 110, 120])
    func totalStaysWithinBudgetAndCountsOmissions(count: Int, length: Int) throws {
        var list = WarningList()
        let warning = String(repeating: "w", count: length - 1) + "…"
        for _ in 0..<count { list.append(warning) }
        let out = list.finished()
        #expect(out.reduce(0) { $0 + $1.utf8.count } <= WarningList.totalLimit)
        let kept = out.filter { $0 == warning }.count
        if kept == count {
            #expect(out.count == count)
        } else {
            let last = try #require(out.last)
            #expect(last.hasPrefix("\(count - kept) more warning"))
        }
    }
}

@Suite struct HTTPContractTests {
    @Test(arguments: [
        ("10s", Duration.seconds(10)), ("500ms", .milliseconds(500)), ("1m", .seconds(30)),
        ("", .seconds(30)), ("bogus", .seconds(30)), ("-3s", .seconds(30)), ("2.5s", .milliseconds(2500)),
    ])
    func apiServerTimeoutIsParsedAndCapped(value: String, expected: Duration) {
        #expect(WebhookResponder.requestTimeout(value) == expected)
    }

    @Test(arguments: [
        ("application/json", true), ("application/json; charset=utf-8", true), ("Application/JSON", true),
        ("text/plain", false), ("application/jsonx", false), (nil, false),
    ] as [(String?, Bool)])
    func contentTypeMustBeJSON(value: String?, expected: Bool) {
        #expect(WebhookResponder.isJSON(value) == expected)
    }
}
