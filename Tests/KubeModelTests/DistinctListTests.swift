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
