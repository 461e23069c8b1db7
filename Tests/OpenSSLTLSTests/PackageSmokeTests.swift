import Testing
@testable import OpenSSLTLS

@Test func moduleLinks() { #expect(Bool(true)) }
