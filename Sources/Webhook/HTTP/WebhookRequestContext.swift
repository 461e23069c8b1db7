import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the connection, so that a review is cancelled when its caller
/// closes the connection.
public struct WebhookRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
