import HummingbirdCore

/// Request targets as the webhook's own request paths read them: `/validate` (read as
/// Hummingbird's router reads the path) with the deadline of the API server's `timeout`
/// parameter, or `nil` for any other target.
///
/// The API server sends the same target (`/validate?timeout=10s`) on every request of a
/// connection; parsing it and its duration again was more than half of the fast path's time per
/// request head (perf, Ingress reviews). The last target read is kept, per connection, and
/// compared by its bytes: canonically equivalent but different targets are read apart.
struct ValidateTargets {
    private var last: (target: String, deadline: Duration?)?

    /// The deadline of a `/validate` request to `target`; `nil` for any other target.
    mutating func deadline(of target: String) -> Duration? {
        if let last, last.target.utf8.elementsEqual(target.utf8) { return last.deadline }
        return read(target)
    }

    /// The same for a target given as its bytes (printable ASCII, checked by the caller): no string
    /// is built when it is the last one read.
    mutating func deadline(ofBytes target: UnsafeRawBufferPointer) -> Duration? {
        if let last, last.target.utf8.elementsEqual(target) { return last.deadline }
        return read(String(decoding: target, as: UTF8.self))
    }

    private mutating func read(_ target: String) -> Duration? {
        let parsed = URI(target)
        let deadline = parsed.path == "/validate"
            ? WebhookResponder.requestTimeout(parsed.queryParameters["timeout"].map(String.init)) : nil
        last = (target, deadline)
        return deadline
    }
}
