import Testing
@testable import KubeModel

@Test func moduleLinks() { #expect(Bool(true)) }
