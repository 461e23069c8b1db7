import Testing
@testable import Certificates

@Test func moduleLinks() { #expect(Bool(true)) }
