import Testing
@testable import Rules

/// The byte scanners behind policy references: DNS-1123 subdomains and comma-separated lists.
@Suite struct NameValidationTests {
    @Test(arguments: ["a", "a1", "1a", "a-b", "a.b", "a-1.b-2.c", "0", String(repeating: "a", count: 253)])
    func subdomains(_ value: String) {
        #expect(NameValidation.dns1123SubdomainProblem(value) == nil, "\(value)")
    }

    @Test(arguments: ["", "A", "a_b", "-a", "a-", ".a", "a.", "a..b", "a.-b", "a-.b", "é", "a b", "a/b",
                      String(repeating: "a", count: 254)])
    func notSubdomains(_ value: String) {
        #expect(NameValidation.dns1123SubdomainProblem(value) != nil, "\(value)")
    }

    @Test(arguments: ["", ",", "a", "a,b", "a,,b", ",a,", " a , b ", "é,ü"])
    func commaSeparatedMatchesSplit(_ value: String) {
        let expected = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(PolicyAnnotation.commaSeparated(value).map(String.init) == expected, "\(value)")
    }

    /// The name after the `/` starts at the next byte: a combining mark after the slash stays part
    /// of the (invalid) name rather than being skipped with the slash as one Character.
    @Test func policyNameStartsRightAfterTheSlashByte() {
        let item = PolicyAnnotation.parse("default/\u{301}mtls")[0]
        #expect(item.namespace == "default" && item.name == "\u{301}mtls")
        #expect(item.problem != nil)
        #expect(item.key(defaultNamespace: "x") == nil)
    }

    /// Go's `strings.Split`, which NIC uses, splits at the byte: a comma followed by a combining
    /// mark is still a separator, where Swift's Character-wise `split` saw one grapheme.
    @Test func commaSplitsAtTheByteAsNICDoes() {
        #expect(PolicyAnnotation.commaSeparated("a,\u{301}b").map(String.init) == ["a", "\u{301}b"])
    }
}
