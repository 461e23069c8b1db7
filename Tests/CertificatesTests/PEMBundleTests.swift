import Certificates
import Foundation
import Testing

@Suite struct PEMBundleTests {
    @Test func parsesEveryCertificateInOrder() throws {
        let chain = try TestPKI.caChain(intermediates: 2)
        let parsed = try PEMBundle.certificates(from: TestPKI.pem(chain))
        #expect(parsed == chain.map(\.certificate))
    }

    @Test func acceptsCRLFAndSurroundingWhitespace() throws {
        let root = try TestPKI.root()
        let text = "\n  \r\n" + root.certificatePEM.replacingOccurrences(of: "\n", with: "\r\n") + "\n\t\n"
        #expect(try PEMBundle.certificates(from: Array(text.utf8)) == [root.certificate])
    }

    @Test(arguments: ["", " \n\t\r\n"])
    func emptyInputIsAnError(text: String) {
        let error = #expect(throws: CertificateError.self) { try PEMBundle.certificates(from: Array(text.utf8)) }
        #expect(error?.kind == .emptyInput)
    }

    /// (where the garbage goes, block index the error names)
    @Test(arguments: [(0, nil), (1, 1), (2, 2)] as [(Int, Int?)])
    func strayTextNamesTheBlockItFollows(position: Int, expectedBlock: Int?) throws {
        let chain = try TestPKI.caChain(intermediates: 1)
        var parts = chain.map(\.certificatePEM)
        parts.insert("this is not PEM\n", at: position)
        let text = parts.joined()
        let error = #expect(throws: CertificateError.self) { try PEMBundle.certificates(from: Array(text.utf8)) }
        #expect(error?.kind == .strayText)
        #expect(error?.blockIndex == expectedBlock)
        let expectedLine = text.components(separatedBy: "\n").firstIndex(of: "this is not PEM").map { $0 + 1 }
        #expect(error?.line == expectedLine)
        if let expectedBlock { #expect(error?.description.contains("after PEM block \(expectedBlock)") == true) }
    }

    @Test func nonCertificateBlockIsNamed() throws {
        let root = try TestPKI.root()
        let text = root.certificatePEM + root.privateKeyPEM
        let error = #expect(throws: CertificateError.self) { try PEMBundle.certificates(from: Array(text.utf8)) }
        #expect(error?.kind == .unexpectedBlockType)
        #expect(error?.blockIndex == 2)
        #expect(error?.description.contains("PRIVATE KEY") == true)
        // The key itself never appears in the message.
        let keyLines = root.privateKeyPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }
        for line in keyLines { #expect(error?.description.contains(line) == false) }
    }

    /// Truncation that breaks base64 itself, and truncation at a line boundary that leaves valid base64 of cut DER.
    @Test(arguments: [(3, CertificateError.Kind.malformedBase64), (64, .invalidCertificate)])
    func truncatedBodyNamesTheBlock(droppedCharacters: Int, kind: CertificateError.Kind) throws {
        let chain = try TestPKI.caChain(intermediates: 1)
        var lines = chain[1].certificatePEM.split(separator: "\n").map(String.init)
        let lastBody = lines.count - 2
        if droppedCharacters == 64 {
            lines.remove(at: lastBody - 1)
        } else {
            lines[lastBody] = String(lines[lastBody].dropLast(droppedCharacters))
        }
        let text = chain[0].certificatePEM + lines.joined(separator: "\n") + "\n"
        let error = #expect(throws: CertificateError.self) { try PEMBundle.certificates(from: Array(text.utf8)) }
        #expect(error?.kind == kind)
        #expect(error?.blockIndex == 2)
    }

    @Test func missingEndLineIsAnError() throws {
        let root = try TestPKI.root()
        let text = root.certificatePEM.replacingOccurrences(of: "-----END CERTIFICATE-----\n", with: "")
        let error = #expect(throws: CertificateError.self) { try PEMBundle.certificates(from: Array(text.utf8)) }
        #expect(error?.kind == .malformedPEM)
        #expect(error?.blockIndex == 1)
    }

    @Test func scanReportsEveryBlockAndProblem() throws {
        let root = try TestPKI.root()
        let text = root.certificatePEM + "junk\nmore junk\n" + root.privateKeyPEM + "tail\n"
        let scan = PEMBundle.blocks(in: Array(text.utf8))
        #expect(scan.blocks.map(\.label) == ["CERTIFICATE", "PRIVATE KEY"])
        #expect(scan.blocks.map(\.index) == [1, 2])
        #expect(scan.blocks.first?.line == 1)
        #expect(scan.errors.map(\.kind) == [.strayText, .strayText])
        #expect(scan.errors.map(\.blockIndex) == [1, 2])
        #expect(scan.blocks[1].description.contains("PRIVATE KEY"))
    }

    @Test(arguments: KeyType.allCases)
    func privateKeyRoundTrips(keyType: KeyType) throws {
        let root = try TestPKI.root(keyType: keyType)
        let key = try PEMBundle.privateKey(from: Array(root.privateKeyPEM.utf8))
        #expect(key.algorithm == root.privateKey.algorithm)
        #expect(key.matches(root.certificate))
        #expect(key.pemEncoded() == root.privateKeyPEM)
        #expect(!String(describing: key).contains("BEGIN"))
        #expect(!String(reflecting: root).contains("BEGIN"))
    }

    @Test func encryptedKeyIsRejected() {
        let text = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
        let error = #expect(throws: CertificateError.self) { try PEMBundle.privateKey(from: Array(text.utf8)) }
        #expect(error?.kind == .invalidPrivateKey)
    }

    @Test func garbageKeyIsRejected() {
        let text = "-----BEGIN PRIVATE KEY-----\nZm9vYmFy\n-----END PRIVATE KEY-----\n"
        let error = #expect(throws: CertificateError.self) { try PEMBundle.privateKey(from: Array(text.utf8)) }
        #expect(error?.kind == .invalidPrivateKey)
        #expect(error?.blockIndex == 1)
    }
}
