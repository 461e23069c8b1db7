import Foundation
import Logging

/// The thread that writes audit lines, fed by a bounded queue.
///
/// `@unchecked Sendable`: every mutable member is read and written only with `condition` locked.
final class AuditWriter: @unchecked Sendable {
    private let logger: Logger
    private let capacity: Int
    private let dropped: @Sendable (Int) -> Void
    private let condition = NSCondition()
    private var pending: [AuditEntry] = []
    /// Lines taken by the writer but not yet written, so `flush` waits for them too.
    private var writing = 0
    private var droppedSinceReport = 0

    init(logger: Logger, capacity: Int, dropped: @escaping @Sendable (Int) -> Void) {
        self.logger = logger
        self.capacity = max(1, capacity)
        self.dropped = dropped
        pending.reserveCapacity(min(self.capacity, 64))
        let thread = Thread { [self] in run() }
        thread.name = "audit-writer"
        thread.start()
    }

    func enqueue(_ entry: AuditEntry) {
        condition.lock()
        guard pending.count < capacity else {
            droppedSinceReport += 1
            condition.unlock()
            dropped(1)
            return
        }
        pending.append(entry)
        if pending.count == 1 { condition.broadcast() }  // flush() may wait on the same condition
        condition.unlock()
    }

    func flush() {
        condition.lock()
        while !pending.isEmpty || writing > 0 { condition.wait() }
        condition.unlock()
    }

    /// Runs for the life of the process: the server's one audit log lives as long.
    private func run() {
        var batch: [AuditEntry] = []
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            swap(&batch, &pending)
            writing = batch.count
            let droppedCount = droppedSinceReport
            droppedSinceReport = 0
            condition.unlock()

            for entry in batch { entry.write(to: logger) }
            if droppedCount > 0 {
                logger.warning("audit lines dropped: the audit queue was full", metadata: [
                    "audit": "dropped", "count": .stringConvertible(droppedCount), "capacity": .stringConvertible(capacity),
                ])
            }
            batch.removeAll(keepingCapacity: batch.capacity <= 64)

            condition.lock()
            writing = 0
            condition.broadcast()
            condition.unlock()
        }
    }
}
