import FuzzDriver

// The server context (a certificate made and loaded once) is allocated on first use: do that before
// libFuzzer counts allocations per input, or it reports it as leaked by whichever input came first.
let warmUp = Array("GET / HTTP/1.1\r\n\r\n".utf8)
_ = warmUp.withUnsafeBufferPointer { tlsHandlerFuzzer($0.baseAddress!, $0.count) }

runFuzzer { data, size in tlsHandlerFuzzer(data, size) }
