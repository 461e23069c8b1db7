import Foundation

// libFuzzer's driver, called from this executable's own main (SwiftPM names and links the entry
// point itself, so libFuzzer's main cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

// Once-initialized globals (schema tables) are allocated on first use: do that before libFuzzer
// counts allocations per input, or it reports them as leaked by whichever input came first
// (Fuzz/lsan.supp says why LeakSanitizer reports them at exit too).
let warmUp = Array(#"{"apiVersion": "v1", "upstreamAuthority": "disk", "config": {"x": 1}, "y": 2}"#.utf8)
_ = warmUp.withUnsafeBufferPointer { upstreamCAFuzzer($0.baseAddress!, $0.count) }

var arguments = CommandLine.argc
var argumentVector = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentVector) { data, size in upstreamCAFuzzer(data, size) })
