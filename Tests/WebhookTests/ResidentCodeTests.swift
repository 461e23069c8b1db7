import Testing
@testable import Webhook

@Suite struct ResidentCodeTests {
    /// Only read-only mappings of files with no copied-on-write page, in memory or swapped out, are
    /// released: never relocated data (`RELRO`, even when its copies are in swap), writable data,
    /// the heap, stacks, the kernel's own pages, or a mapping smaps does not fully describe.
    @Test func onlyCleanReadOnlyFileMappingsAreReleasable() {
        let smaps = """
        55d0c0000000-55d0c0c7a000 r-xp 00000000 fd:01 1234   /usr/local/bin/mtls-guard
        Size:              12776 kB
        Rss:                9800 kB
        Private_Dirty:      3120 kB
        Anonymous:             0 kB
        Swap:                  0 kB
        VmFlags: rd ex mr mw me dw
        55d0c0c7a000-55d0c0cd8000 r--p 00c7a000 fd:01 1234   /usr/local/bin/mtls-guard
        Anonymous:           376 kB
        Swap:                  0 kB
        55d0c0cd8000-55d0c0d80000 rw-p 00cd8000 fd:01 1234   /usr/local/bin/mtls-guard
        Anonymous:           124 kB
        55d0c1000000-55d0c1042000 rw-p 00000000 00:00 0      [heap]
        Anonymous:           140 kB
        7f0000000000-7f00004ef000 r-xp 00000000 fd:01 99     /opt/swift/lib/libFoundation.so
        Anonymous:             0 kB
        Swap:                  0 kB
        7f0000500000-7f0000501000 r--p 00000000 fd:01 77     /tmp/a file (deleted)
        Anonymous:             0 kB
        Swap:                  0 kB
        7f0000600000-7f0000610000 r--p 00010000 fd:01 99     /opt/swift/lib/libFoundation.so
        Anonymous:             0 kB
        Swap:                 12 kB
        7f0000700000-7f0000710000 r-xp 00000000 fd:01 98     /opt/swift/lib/libcut.so
        Anonymous:             0 kB
        7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0      [vdso]
        Anonymous:             0 kB
        Swap:                  0 kB
        """
        let mappings = ResidentCode.mappings(smaps: smaps)
        #expect(mappings.count == 9)
        #expect(mappings.filter(\.isReleasable).map(\.path) == [
            "/usr/local/bin/mtls-guard", "/opt/swift/lib/libFoundation.so", "/tmp/a file (deleted)",
        ])
        #expect(mappings[0].start == 0x55d0_c000_0000 && mappings[0].end == 0x55d0_c0c7_a000)
        #expect(mappings[1].anonymousKB == 376)
        #expect(mappings[6].swapKB == 12 && mappings[7].swapKB == nil)
    }

    @Test func malformedLinesAreSkipped() {
        let mappings = ResidentCode.mappings(smaps: "garbage\nzz-yy r-xp 0 0 0 /x\n10-5 r-xp 0 0 0 /y\nAnonymous: 4 kB\n\n")
        #expect(mappings.isEmpty)
    }

    #if os(Linux)
    /// On this process: mappings are found and released, and the code keeps running.
    @Test func releasesThisProcessesCodePages() throws {
        let outcome = try #require(ResidentCode.release())
        #expect(outcome.mappings > 0)
        #expect(outcome.residentKBBefore > 0)
        #expect(outcome.residentKBAfter < outcome.residentKBBefore)
    }
    #endif
}
