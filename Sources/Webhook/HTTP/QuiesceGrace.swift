import NIOCore

/// Quiesce (shutdown requested) as a connection's HTTP handler carries it out: from then on every
/// answer ends the connection, and a connection with nothing to answer closes once it has been
/// quiet for `period`, so a request already on its way is still answered.
///
/// Hummingbird's own handling closes idle connections at once. `HTTP1Semantics` and `ValidateWire`
/// each answer requests the other never sees, so each keeps one of these for its connection.
final class QuiesceGrace {
    /// How long an idle connection is kept after quiesce, for a request sent just before it.
    static let period: TimeAmount = .milliseconds(500)

    /// Quiesce has arrived: answers close the connection.
    private(set) var quiesced = false
    /// The last request or answer, on the event loop's clock (its handler sets the start when added).
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    private var timer: Scheduled<Void>?

    /// A request or an answer passed at `now`.
    func active(at now: NIODeadline) {
        lastActivity = now
    }

    /// Quiesce arrived: the connection closes now if `isIdle` and quiet for `period`, when it has
    /// been quiet that long if it is idle then, and otherwise after its answer (`quiesced`).
    func quiesce(context: ChannelHandlerContext, isIdle: @escaping () -> Bool) {
        quiesced = true
        if isIdle() { closeWhenQuiet(context: context, isIdle: isIdle) }
    }

    private func closeWhenQuiet(context: ChannelHandlerContext, isIdle: @escaping () -> Bool) {
        let quietFor = context.eventLoop.now - lastActivity
        guard quietFor < Self.period else {
            context.close(promise: nil)
            return
        }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.period - quietFor) { [self] in
            timer = nil
            // A request arrived meanwhile: it closes after its answer (`quiesced`).
            if isIdle() { closeWhenQuiet(context: context, isIdle: isIdle) }
        }
    }

    /// The connection is gone: no timer outlives it.
    func cancel() {
        timer?.cancel()
        timer = nil
    }
}
