import Certificates
import Foundation
import Testing

@Suite struct ChainAnalysisTests {
    /// Root only → 0 intermediates; root + intermediate → 1; root + 2 intermediates → 2; order must not matter.
    @Test(arguments: 0...3)
    func intermediatesBelowRoot(count: Int) throws {
        let chain = try TestPKI.caChain(intermediates: count).map(\.certificate)
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: chain) == count)
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: chain.reversed()) == count)
        let rotated = Array(chain.dropFirst(chain.count / 2) + chain.prefix(chain.count / 2))
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: rotated) == count)
    }

    @Test func bundleWithoutRootHasNoChain() throws {
        let chain = try TestPKI.caChain(intermediates: 2).map(\.certificate)
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: Array(chain.dropFirst())) == nil)
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: []) == nil)
    }

    @Test func twoRootsTakeTheDeepestChain() throws {
        let shallow = try TestPKI.caChain(intermediates: 0).map(\.certificate)
        let deep = try TestPKI.caChain(intermediates: 2).map(\.certificate)
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: shallow + deep) == 2)
    }

    @Test func expiredIntermediateStillCounts() throws {
        let root = try TestPKI.root()
        let expired = try CertificateFactory.issue(
            CertificateRequest(commonName: "old", isCA: true, notBefore: Date(timeIntervalSinceNow: -86400 * 2), notAfter: Date(timeIntervalSinceNow: -86400)),
            by: root)
        #expect(ChainAnalysis.intermediatesBelowRoot(bundle: [root.certificate, expired.certificate]) == 1)
    }

    @Test func verifyReturnsTheChainLeafFirst() throws {
        let chain = try TestPKI.caChain(intermediates: 1)
        let leaf = try TestPKI.leaf(by: chain[1])
        let result = ChainAnalysis.verify(leaf.certificate, trustAnchors: [chain[0].certificate], untrusted: [chain[1].certificate], at: nil, maxDepth: nil)
        #expect(try result.get() == [leaf.certificate, chain[1].certificate, chain[0].certificate])
    }

    /// (maxDepth, passes) for leaf → intermediate → root, as `openssl verify -verify_depth` says (see OpenSSLAgreementTests).
    @Test(arguments: [(0, false), (1, true), (2, true)])
    func verifyDepth(maxDepth: Int, passes: Bool) throws {
        let chain = try TestPKI.caChain(intermediates: 1)
        let leaf = try TestPKI.leaf(by: chain[1])
        let result = ChainAnalysis.verify(leaf.certificate, trustAnchors: [chain[0].certificate], untrusted: [chain[1].certificate], at: nil, maxDepth: maxDepth)
        if passes {
            #expect((try? result.get()) != nil)
        } else {
            #expect(throws: CertificateError.self) { try result.get() }
        }
    }

    /// (notBefore, notAfter relative to now, expected OpenSSL reason)
    @Test(arguments: [(-2 * 86400.0, -86400.0, "certificate has expired"), (86400.0, 2 * 86400.0, "certificate is not yet valid")])
    func verifyChecksValidity(from start: TimeInterval, to end: TimeInterval, reason: String) throws {
        let root = try CertificateFactory.selfSigned(CertificateRequest(
            commonName: "long-lived-root", isCA: true, notBefore: Date(timeIntervalSinceNow: -10 * 86400), notAfter: Date(timeIntervalSinceNow: 10 * 86400)))
        let leaf = try TestPKI.leaf(by: root, notBefore: Date(timeIntervalSinceNow: start), notAfter: Date(timeIntervalSinceNow: end))
        let result = ChainAnalysis.verify(leaf.certificate, trustAnchors: [root.certificate], untrusted: [], at: nil, maxDepth: nil)
        let error = #expect(throws: CertificateError.self) { try result.get() }
        #expect(error?.kind == .verificationFailed)
        #expect(error?.reason.contains(reason) == true)
        // At a time inside the validity period it verifies.
        let inside = Date(timeIntervalSinceNow: (start + end) / 2)
        #expect((try? ChainAnalysis.verify(leaf.certificate, trustAnchors: [root.certificate], untrusted: [], at: inside, maxDepth: nil).get()) != nil)
    }

    @Test func verifyEnforcesPathLength() throws {
        let root = try TestPKI.root(pathLength: 0)
        let intermediate = try TestPKI.intermediate("inter", by: root)
        let leaf = try TestPKI.leaf(by: intermediate)
        let result = ChainAnalysis.verify(leaf.certificate, trustAnchors: [root.certificate], untrusted: [intermediate.certificate], at: nil, maxDepth: nil)
        let error = #expect(throws: CertificateError.self) { try result.get() }
        #expect(error?.reason.contains("path length") == true)
    }

    @Test func verifyWithoutIssuerFails() throws {
        let root = try TestPKI.root()
        let other = try TestPKI.root("other")
        let leaf = try TestPKI.leaf(by: root)
        let result = ChainAnalysis.verify(leaf.certificate, trustAnchors: [other.certificate], untrusted: [], at: nil, maxDepth: nil)
        let error = #expect(throws: CertificateError.self) { try result.get() }
        #expect(error?.reason.contains("unable to get local issuer certificate") == true)
    }
}
