import Testing
@testable import Certificates

/// `CertificateCache`: the same certificate for the same DER, bounded in entries and in bytes,
/// and failures never kept.
@Suite struct CertificateCacheTests {
    @Test func aHitIsTheCertificateTheDERDecodesTo() throws {
        let cache = CertificateCache(maximumEntries: 8, maximumBytes: 1 << 20)
        let root = try TestPKI.root("cached")
        let first = try cache.certificate(derEncoded: root.certificate.der)
        let second = try cache.certificate(derEncoded: root.certificate.der)
        #expect(first == root.certificate && second == root.certificate)
        #expect(second.subject == root.certificate.subject && second.notAfter == root.certificate.notAfter)
        #expect(cache.usage.entries == 1 && cache.usage.bytes == root.certificate.der.count)
    }

    @Test func boundedInEntriesAndBytes() throws {
        let roots = try (0..<20).map { try TestPKI.root("root-\($0)") }
        let byCount = CertificateCache(maximumEntries: 3, maximumBytes: 1 << 20)
        for root in roots { _ = try byCount.certificate(derEncoded: root.certificate.der) }
        #expect(byCount.usage.entries == 3)

        let size = roots[0].certificate.der.count
        let byBytes = CertificateCache(maximumEntries: 100, maximumBytes: 16 * (size + 64))
        for root in roots { _ = try byBytes.certificate(derEncoded: root.certificate.der) }
        #expect(byBytes.usage.bytes <= 16 * (size + 64))
        #expect(byBytes.usage.entries < roots.count)  // the byte bound, not the entry bound, pushed some out
        // Every certificate still parses right after its entry was pushed out.
        for root in roots { #expect(try byCount.certificate(derEncoded: root.certificate.der) == root.certificate) }
    }

    @Test func failuresAreNotKept() throws {
        let cache = CertificateCache(maximumEntries: 8, maximumBytes: 1 << 20)
        let garbage: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x00]
        for _ in 0..<2 {
            #expect(throws: CertificateError.self) { try cache.certificate(derEncoded: garbage) }
        }
        #expect(cache.usage.entries == 0)
    }
}
