import Foundation
import KubeModel
import Rules

/// libFuzzer entry: an upstream CA configuration file. The bytes before the first line `%%` are the
/// document; the bytes after it are what every file the document names contains, so the PEM
/// checks of the named files are reached too.
@_cdecl("LLVMFuzzerTestOneInput")
public func upstreamCAFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let separator = Array("\n%%\n".utf8)
    var split = bytes.count
    if bytes.count >= separator.count {
        for index in 0...(bytes.count - separator.count) where bytes[index..<index + separator.count].elementsEqual(separator) {
            split = index
            break
        }
    }
    let document = Data(bytes[..<split])
    let files = split < bytes.count ? Array(bytes[(split + separator.count)...]) : []
    guard let value = try? ManifestLoader.document(from: document, source: "fuzz") else { return 0 }
    _ = UpstreamCARules.check(
        document: value, baseDirectory: URL(fileURLWithPath: "/nonexistent"), requireFiles: true,
        settings: Settings(now: Date(timeIntervalSince1970: 1_900_000_000)),
        readFile: { _ in files.isEmpty ? .missing : .contents(files) })
    return 0
}
