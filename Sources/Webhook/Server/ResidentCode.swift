#if canImport(Glibc)
import Glibc
#endif

/// Releases the code pages start-up touched and serving does not use.
///
/// Most of `serve`'s resident memory is not its heap (a few MB) but pages of the binary and of the
/// shared libraries it maps. The kernel maps file pages 64 KB at a time around every page touched
/// ("fault-around"), and start-up runs code that serving never runs again: argument parsing,
/// manifest and certificate loading, Foundation's and OpenSSL's initialisation. A second after the
/// server listens, `release()` drops the pages of every file-backed, read-only mapping that holds
/// no page of its own; serving then maps back only the pages it runs.
///
/// Nothing is lost: such a mapping's pages are the file's pages in the page cache (the kernel drops
/// them itself under memory pressure, and maps them back on their next use). Mappings with
/// copied-on-write pages, in memory or swapped out (relocated data, `RELRO`), writable ones, and
/// any smaps does not fully describe are never touched. It runs once, a second after start-up, when
/// no library is being loaded. Linux only; elsewhere a no-op.
public enum ResidentCode {
    /// How long after the webhook starts listening the pages are released: start-up is over by
    /// then, and releasing earlier slowed the way to ready by making it fault its code back in.
    public static let delayAfterListening = Duration.seconds(1)

    struct Mapping: Equatable {
        let start: UInt
        let end: UInt
        let permissions: String
        let path: String
        /// Pages of the mapping copied on write, in memory (`Anonymous:`) and swapped out (`Swap:`):
        /// those are the process's own, not the file's. `nil` when smaps did not say.
        var anonymousKB: Int?
        var swapKB: Int?

        /// Read-only and backed by a file (not the kernel's `[vdso]`, `[vvar]`, the heap or stacks).
        var isFileBackedReadOnly: Bool {
            path.hasPrefix("/") && permissions.hasPrefix("r") && !permissions.contains("w")
        }

        /// Its pages can be dropped: every one of them is the file's page, none a private copy in
        /// memory or in swap (`MADV_DONTNEED` frees swapped copies too). `Private_Dirty` is no guide:
        /// it also counts page-cache pages not yet written back, as for a binary just built.
        var isReleasable: Bool { isFileBackedReadOnly && anonymousKB == 0 && swapKB == 0 }
    }

    /// What `release()` did, for the log.
    public struct Outcome: Sendable {
        public let mappings: Int
        public let residentKBBefore: Int
        public let residentKBAfter: Int
    }

    /// The mappings of `/proc/<pid>/smaps`-formatted text.
    static func mappings(smaps: String) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let first = fields.first else { continue }
            if first.hasSuffix(":") {
                if fields.count >= 2, let kilobytes = Int(fields[1]), !mappings.isEmpty {
                    if first == "Anonymous:" { mappings[mappings.count - 1].anonymousKB = kilobytes }
                    if first == "Swap:" { mappings[mappings.count - 1].swapKB = kilobytes }
                }
                continue
            }
            // A mapping's first line: `start-end perms offset dev inode [path]`.
            let bounds = first.split(separator: "-")
            guard fields.count >= 5, bounds.count == 2,
                  let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), start < end
            else { continue }
            let path = fields.count >= 6 ? fields[5...].joined(separator: " ") : ""
            mappings.append(Mapping(start: start, end: end, permissions: String(fields[1]), path: path))
        }
        return mappings
    }

    /// Drops the pages of every releasable mapping of this process; `nil` where that is not possible.
    public static func release() -> Outcome? {
        #if os(Linux)
        guard let smaps = readProcFile("/proc/self/smaps") else { return nil }
        let before = residentKB()
        var released = 0
        for mapping in mappings(smaps: smaps) where mapping.isReleasable {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start) else { continue }
            if madvise(address, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 { released += 1 }
        }
        return Outcome(mappings: released, residentKBBefore: before, residentKBAfter: residentKB())
        #else
        return nil
        #endif
    }

    /// `VmRSS` of this process in KB, 0 when unknown.
    static func residentKB() -> Int {
        guard let status = readProcFile("/proc/self/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        }
        return 0
    }

    /// The whole of a `/proc` file. Its size reads as 0, so it is read until the end; reading by
    /// size (as Foundation does) returned only the first page of `smaps`.
    static func readProcFile(_ path: String) -> String? {
        #if os(Linux)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
        #else
        return nil
        #endif
    }
}
