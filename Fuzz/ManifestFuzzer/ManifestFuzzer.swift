import Foundation
import KubeModel

/// libFuzzer entry: bytes read as a manifest stream (YAML or JSON, as `validate` reads files) and as
/// one document (as `check-upstream-ca` and `review --state` read them).
@_cdecl("LLVMFuzzerTestOneInput")
public func manifestFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    _ = try? ManifestLoader.load(data: bytes, source: "fuzz")
    _ = try? ManifestLoader.document(from: bytes, source: "fuzz")
    return 0
}
