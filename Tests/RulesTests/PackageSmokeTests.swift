import Testing
@testable import Rules

@Test func moduleLinks() { #expect(Bool(true)) }
