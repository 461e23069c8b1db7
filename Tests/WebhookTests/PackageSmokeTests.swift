import Testing
@testable import Webhook

@Test func moduleLinks() { #expect(Bool(true)) }
