import FuzzDriver

// Once-initialized globals (schema tables) are allocated on first use: do that before libFuzzer
// counts allocations per input, or it reports them as leaked by whichever input came first
// (Fuzz/lsan.supp says why LeakSanitizer reports them at exit too).
let warmUp = Array(#"{"apiVersion": "v1", "upstreamAuthority": "disk", "config": {"x": 1}, "y": 2}"#.utf8)
_ = warmUp.withUnsafeBufferPointer { upstreamCAFuzzer($0.baseAddress!, $0.count) }

runFuzzer { data, size in upstreamCAFuzzer(data, size) }
