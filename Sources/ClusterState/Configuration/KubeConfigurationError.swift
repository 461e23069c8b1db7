/// A configuration that cannot be used; the message says what to fix and never quotes credentials.
public struct KubeConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
