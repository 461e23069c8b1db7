import Certificates
import Foundation
import KubeModel
import Rules

/// libFuzzer entry: bytes read as PEM (certificates, keys, CRLs), then as the content of a CA Secret
/// and of a TLS Secret judged by the rules (chain analysis included).
@_cdecl("LLVMFuzzerTestOneInput")
public func pemFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = PEMBundle.blocks(in: bytes)
    if let certificates = try? PEMBundle.certificates(from: bytes) {
        _ = ChainAnalysis.intermediatesBelowRoot(bundle: certificates)
        _ = certificates.map(\.isSelfSigned)
    }
    _ = try? PEMBundle.privateKey(from: bytes)
    _ = try? PEMBundle.crls(from: bytes)
    for block in PEMBundle.blocks(in: bytes).blocks.prefix(4) {
        if let der = block.der { _ = try? Certificate(derEncoded: der) }
    }

    let encoded = JSONValue.string(Data(bytes).base64EncodedString())
    let settings = Settings(now: Date(timeIntervalSince1970: 1_900_000_000))
    for (type, keys) in [("nginx.org/ca", ["ca.crt", "ca.crl"]), ("kubernetes.io/tls", ["tls.crt", "tls.key"])] {
        var members: JSONObject = [:]
        for key in keys { members[key] = encoded }
        let secret = JSONValue.object([
            "apiVersion": .string("v1"), "kind": .string("Secret"), "type": .string(type),
            "metadata": .object(["name": .string("fuzz"), "namespace": .string("default")]),
            "data": .object(members),
        ])
        let input = ReviewInput(operation: .create, kind: GroupVersionKind(group: "", version: "v1", kind: "Secret"),
                                namespace: "default", name: "fuzz", object: secret, oldObject: nil)
        _ = RuleEngine.evaluate(input, snapshot: nil, settings: settings)
    }
    return 0
}
