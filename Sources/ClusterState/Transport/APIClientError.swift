/// Why a request to the API server did not produce a response. Messages never include the token.
public enum APIClientError: Error, Sendable, CustomStringConvertible, Equatable {
    /// TCP connect, TLS handshake or name resolution failed.
    case connectFailed(String)
    /// The connection ended before the response was complete (reset, cut mid-event).
    case connectionClosed
    /// No byte arrived within the read timeout (a half-open socket, a stalled stream).
    case readTimeout
    /// The body exceeded the limit for its kind of request.
    case responseTooLarge(Int)
    /// The response could not be read (bad JSON, framing).
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .connectFailed(let reason): return "connect failed: \(reason)"
        case .connectionClosed: return "connection closed before the response was complete"
        case .readTimeout: return "no data within the read timeout"
        case .responseTooLarge(let limit): return "response larger than \(limit) bytes"
        case .malformedResponse(let reason): return "malformed response: \(reason)"
        }
    }
}
