import Foundation

// libFuzzer's driver, called from this executable's own main (SwiftPM names and links the entry
// point itself, so libFuzzer's main cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

// The server context (a certificate made and loaded once) is allocated on first use: do that before
// libFuzzer counts allocations per input, or it reports it as leaked by whichever input came first.
let warmUp = Array("GET / HTTP/1.1\r\n\r\n".utf8)
_ = warmUp.withUnsafeBufferPointer { tlsHandlerFuzzer($0.baseAddress!, $0.count) }

var arguments = CommandLine.argc
var argumentVector = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentVector) { data, size in tlsHandlerFuzzer(data, size) })
