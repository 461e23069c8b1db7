import Foundation

/// Asks a running evaluation to stop: the client has gone or its deadline has passed, so nothing will
/// read the verdict and every further step is wasted work.
///
/// The engine is synchronous, so the flag is found through `current`, bound around the call (a task
/// local is also bound on a plain thread for the duration of `withValue`), and polled between rule
/// families and between the items of the loops that can be long (certificates of a bundle, referrers).
public final class ReviewCancellation: Sendable {
    /// The cancellation of the evaluation running on this task or thread, if any.
    @TaskLocal public static var current: ReviewCancellation?

    private let flag = NSLock()
    private nonisolated(unsafe) var cancelled = false

    public init() {}

    public var isCancelled: Bool { flag.withLock { cancelled } }

    public func cancel() { flag.withLock { cancelled = true } }

    /// Whether the evaluation running here has been asked to stop.
    public static var isCurrentCancelled: Bool { current?.isCancelled ?? false }
}
