import Testing
@testable import KubeModel

@Suite struct DistinctListTests {
    /// The list keeps first-seen order and drops repeats on both sides of the switch to a set.
    @Test(arguments: [1, 7, 8, 9, 40])
    func keepsFirstSeenOrderWithoutRepeats(distinct: Int) {
        var list = DistinctList<String>()
        var inserted = 0
        for round in 0..<3 {
            for index in (0..<distinct).reversed() where list.insert("svc-\(index)") {
                inserted += 1
                #expect(round == 0)
            }
        }
        #expect(inserted == distinct)
        #expect(list.elements == (0..<distinct).reversed().map { "svc-\($0)" })
    }
}

@Suite struct KubeObjectVersionTests {
    /// The version is what `apiVersion.split(separator: "/").last` gives, found by bytes; `group`
    /// is the part before the first `/`.
    @Test(arguments: [("networking.k8s.io/v1", "v1"), ("v1", "v1"), ("apps/v1beta2", "v1beta2"), ("a/b/c", "c"),
                      ("g/", "g"), ("/v1", "v1"), ("", "")])
    func versionIsTheLastPart(apiVersion: String, version: String) throws {
        let object = try #require(KubeObject(.object(["apiVersion": .string(apiVersion), "kind": .string("X")])))
        #expect(object.version == version)
        #expect(object.version == String(apiVersion.split(separator: "/").last ?? ""))
    }
}
