import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Rules

/// The threads that judge reviews, apart from the NIO event loops and from Swift's cooperative pool,
/// so that a slow review never delays serving: probes, metrics and other reviews keep their threads.
///
/// Each job has a deadline and a `ReviewCancellation`: when the deadline passes or the client goes
/// away, the caller gets its answer (504, or nothing) at once and the job's flag is raised, which the
/// engine polls to stop; a job still queued when cancelled never starts.
public final class ReviewWorkers: Sendable {
    /// Why a job ended without a result.
    public enum Abandoned: Error, Sendable {
        /// The deadline passed first.
        case deadline
        /// The client closed the connection first.
        case clientGone
    }

    private let pool: NIOThreadPool

    /// - Parameter threads: more than the cores, so that a short review gets a thread (and a time
    ///   slice) while long ones run.
    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// Runs `work` on a worker thread with `ReviewCancellation.current` bound.
    ///
    /// - Parameters:
    ///   - deadline: after this, `Abandoned.deadline` is thrown and the job is cancelled.
    ///   - eventLoop: where the deadline timer runs (the connection's).
    ///   - whenClientGone: registers an action to run if the client closes the connection first
    ///     (then `Abandoned.clientGone` is thrown and the job is cancelled) and returns what
    ///     withdraws it; `ConnectionSlots.whenClosed` for a connection.
    ///   - onAbandon: called once, with the reason, when the job is cancelled.
    public func run<T: Sendable>(
        deadline: Duration, eventLoop: any EventLoop,
        whenClientGone: (@escaping @Sendable () -> Void) -> @Sendable () -> Void,
        onAbandon: @escaping @Sendable (Abandoned) -> Void = { _ in },
        _ work: @escaping @Sendable () -> T
    ) async throws(Abandoned) -> T {
        let cancellation = ReviewCancellation()
        let job = Job<T>()
        let abandon: @Sendable (Abandoned) -> Void = { reason in
            cancellation.cancel()
            if job.finish(.failure(reason)) { onAbandon(reason) }
        }
        let withdraw = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)
        defer { withdraw.withLockedValue { $0 }?() }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Abandoned>, Never>) in
            // The continuation first: a client already gone, or a deadline already passed, must
            // find it to resume, with its own reason.
            job.set(continuation)
            job.setTimer(eventLoop.scheduleTask(in: TimeAmount(deadline)) { abandon(.deadline) })
            let registration = whenClientGone { abandon(.clientGone) }
            withdraw.withLockedValue { $0 = registration }
            pool.submit { state in
                guard state == .active, !cancellation.isCancelled else {
                    _ = job.finish(.failure(Abandoned.deadline))
                    return
                }
                let result = ReviewCancellation.$current.withValue(cancellation) { work() }
                _ = job.finish(.success(result))
            }
        }
        return try result.get()
    }

    /// One continuation, resumed exactly once by whichever comes first.
    /// Its deadline timer is cancelled with it, however it ends: a timer left queued would hold the
    /// job until the deadline (up to 30 s) after a hang-up.
    private final class Job<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Result<T, Abandoned>, Never>?
            var timer: Scheduled<Void>?
            var finished = false
        }

        private let state = NIOLockedValueBox(State())

        func set(_ value: CheckedContinuation<Result<T, Abandoned>, Never>) {
            state.withLockedValue { $0.continuation = value }
        }

        func setTimer(_ timer: Scheduled<Void>) {
            let finished = state.withLockedValue { state in
                if !state.finished { state.timer = timer }
                return state.finished
            }
            if finished { timer.cancel() }
        }

        /// Resumes the caller; false when it had already been resumed.
        func finish(_ result: Result<T, Abandoned>) -> Bool {
            let (pending, timer) = state.withLockedValue { state in
                defer {
                    state.continuation = nil
                    state.timer = nil
                    state.finished = true
                }
                return (state.continuation, state.timer)
            }
            timer?.cancel()
            guard let pending else { return false }
            pending.resume(returning: result)
            return true
        }
    }
}
