import Base64Codec

/// A v1 Secret as the rules see it: type and decoded data (`data` base64, `stringData` merged over it,
/// as the API server does on write).
///
/// Never log or print `data`: it holds private keys.
public struct SecretView: Sendable {
    public static let caType = "nginx.org/ca"
    public static let tlsType = "kubernetes.io/tls"

    public var metadata: ObjectMeta
    /// `type`, defaulting to `Opaque` as the API server does.
    public var type: String
    /// Decoded values by key.
    public var data: [String: [UInt8]]
    /// Keys of `data` whose value is not valid base64 (or not a string).
    public var undecodableKeys: [String]

    public init(_ object: KubeObject) {
        metadata = object.metadata
        type = Self.type(of: object)
        data = [:]
        undecodableKeys = []
        for (key, value) in object.raw["data"]?.objectValue ?? [:] {
            // Decoded as the API server decodes it (Go's base64.StdEncoding).
            if let text = value.stringValue, let bytes = GoBase64.decode(text) {
                data[key] = bytes
            } else if !value.isNull {
                undecodableKeys.append(key)
            }
        }
        for (key, value) in object.raw["stringData"]?.objectValue ?? [:] {
            if let text = value.stringValue { data[key] = Array(text.utf8) }
        }
        undecodableKeys.sort()
    }

    /// The Secret's `type`, `Opaque` when unset, read without decoding its data.
    public static func type(of object: KubeObject) -> String {
        object.raw["type"]?.stringValue ?? "Opaque"
    }
}
