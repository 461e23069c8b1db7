import NIOCore

/// A Swift concurrency `TaskExecutor` that runs jobs on one NIO event loop.
///
/// Hummingbird runs each connection's handler, and so every request on it, as an async task. On
/// the global cooperative pool every step of a request (head, body parts, the answer's write)
/// crosses threads twice: the event loop hands the part to a pool thread and the pool thread hands
/// the write back. With this executor preferred for the connection's task, those steps run on the
/// connection's own event loop thread, where the bytes are. Nothing that blocks runs there: the
/// review itself goes to `ReviewWorkers`.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
