import Foundation
import Testing
@testable import KubeModel

/// Field path -> line:column, as `validate` reports findings.
@Suite struct SourcePositionsTests {
    static func positions(_ text: String, source: String = "m.yaml") throws -> [SourcePositions] {
        try ManifestLoader.load(data: Data(text.utf8), source: source, withPositions: true).map { try #require($0.positions) }
    }

    static let policy = """
        apiVersion: k8s.nginx.org/v1
        kind: Policy
        metadata:
          name: p
          annotations:
            nginx.org/policies: "a,,b"
        spec:
          ingressMTLS:
            clientCertSecret: ca
            verifyClient: "maybe"
          tls:
          - hosts: [a.example.com]
            secretName: cafe
          - secretName: other
        """

    @Test func fieldsPointAtTheirKeys() throws {
        let p = try #require(try Self.positions(Self.policy).first)
        #expect(p.position(of: "spec.ingressMTLS.verifyClient") == .init(line: 10, column: 5))
        #expect(p.position(of: "spec.ingressMTLS") == .init(line: 8, column: 3))
        #expect(p.position(of: "kind") == .init(line: 2, column: 1))
    }

    @Test func mapKeysWithDotsAndSlashesInBrackets() throws {
        let p = try #require(try Self.positions(Self.policy).first)
        #expect(p.position(of: "metadata.annotations[nginx.org/policies]") == .init(line: 6, column: 5))
    }

    @Test func sequenceElementsByIndex() throws {
        let p = try #require(try Self.positions(Self.policy).first)
        #expect(p.position(of: "spec.tls[0].secretName") == .init(line: 13, column: 5))
        #expect(p.position(of: "spec.tls[1]") == .init(line: 14, column: 5))
        #expect(p.position(of: "spec.tls[0].hosts[0]") == .init(line: 12, column: 13))
    }

    @Test func missingFieldsFallBackToTheNearestAncestor() throws {
        let p = try #require(try Self.positions(Self.policy).first)
        #expect(p.position(of: "spec.ingressMTLS.verifyDepth") == .init(line: 8, column: 3))
        #expect(p.position(of: "spec.tls[7].secretName") == .init(line: 11, column: 3))
        #expect(p.position(of: "<object>") == .init(line: 1, column: 1))
    }

    @Test func laterDocumentsCountLinesFromTheStartOfTheFile() throws {
        let p = try Self.positions("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
        #expect(p.count == 2)
        #expect(p[1].position(of: "metadata.name") == .init(line: 8, column: 3))
    }

    @Test func listItemsAreScopedToTheirItem() throws {
        let p = try Self.positions("""
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
            - apiVersion: k8s.nginx.org/v1
              kind: Policy
              metadata: {name: p}
              spec: {}
            """)
        #expect(p[1].position(of: "spec") == .init(line: 8, column: 3))
        #expect(p[1].position(of: "<object>") == .init(line: 5, column: 3))
        #expect(p[0].position(of: "metadata.name") == .init(line: 4, column: 48))
    }

    @Test func jsonHasPositionsToo() throws {
        let p = try Self.positions("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"s\"},\n  \"data\": {\n    \"ca.crt\": \"eA==\"\n  }\n}\n", source: "s.json")
        #expect(p.first?.position(of: "data[ca.crt]") == .init(line: 6, column: 5))
    }

    @Test func pathComponents() {
        #expect(SourcePositions.components(of: "a.b[0][x.y/z].c") == ["a", "b", "0", "x.y/z", "c"])
        #expect(SourcePositions.components(of: "<object>") == [])
    }

    @Test func theIndexIsBounded() throws {
        let items = (0..<50).map { "  - \($0)" }.joined(separator: "\n")
        let p = try #require(SourcePositions.indexing(yaml: "kind: ConfigMap\nlist:\n\(items)\n", limit: 10))
        // Past the limit a field falls back to an ancestor that was recorded.
        #expect(p.position(of: "list[40]") == .init(line: 2, column: 1))
        #expect(p.position(of: "list[0]") == .init(line: 3, column: 5))
    }
}
