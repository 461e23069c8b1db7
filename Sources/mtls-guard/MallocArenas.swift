#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// glibc's malloc gives every thread that allocates concurrently an arena of its own, up to eight
/// per core, and each arena keeps the memory freed into it. The server's threads (NIO event loops,
/// the Swift concurrency pool, the audit writer) each grew one, so resident memory rose with the
/// number of busy connections and never came back. Two arenas keep contention low at this
/// thread count and the heap small.
enum MallocArenas {
    static let limit: Int32 = 2
    /// `M_ARENA_MAX` of glibc's `<malloc.h>`, which the Glibc module does not import.
    private static let arenaMaxOption: Int32 = -8

    /// Applies the limit unless the operator chose one with `MALLOC_ARENA_MAX` (the Deployment
    /// sets it too, so it holds before the first allocation). A no-op where malloc is not glibc's.
    static func limitUnlessConfigured() {
        #if canImport(Glibc)
        guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil,
              let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt")  // RTLD_DEFAULT
        else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMaxOption, limit)
        #endif
    }
}
