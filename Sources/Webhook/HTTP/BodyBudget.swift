import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Bounds the request bytes held in memory at once across all connections.
///
/// Each review reserves its announced size (or the body limit when none is announced) before its body
/// is collected, and gives it back once answered; a review that does not fit waits, first come first
/// served, until others finish or its deadline passes. Ordinary reviews are kilobytes and never wait;
/// many concurrent multi-megabyte bodies are judged a few at a time instead of all at once, so memory
/// stays well under the pod's limit.
public final class BodyBudget: Sendable {
    private struct Waiter {
        let id: UInt64
        let bytes: Int
        let continuation: CheckedContinuation<Bool, Never>
        /// Its timeout, cancelled when the waiter is served first.
        var timer: Scheduled<Void>?
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    public let capacity: Int
    private let state: NIOLockedValueBox<State>

    public init(capacity: Int) {
        self.capacity = capacity
        state = NIOLockedValueBox(State(available: capacity))
    }

    /// Bytes not reserved now.
    public var available: Int { state.withLockedValue { $0.available } }

    /// Reserves `bytes` when they fit now and nobody waits; false otherwise (nothing reserved). For
    /// callers that have another way to go when there is no room (`ValidateWire`).
    func tryReserve(_ bytes: Int) -> Bool {
        let bytes = min(max(bytes, 0), capacity)
        return state.withLockedValue { state in
            guard state.waiters.isEmpty, state.available >= bytes else { return false }
            state.available -= bytes
            return true
        }
    }

    /// Reserves `bytes` (at most the capacity), waiting up to `timeout`; false when the wait timed out.
    func reserve(_ bytes: Int, timeout: Duration) async -> Bool {
        // The usual case, kilobytes with room to spare: one lock, no suspension.
        if tryReserve(bytes) { return true }
        let bytes = min(max(bytes, 0), capacity)
        let id: UInt64 = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let immediate: Bool = state.withLockedValue { state in
                if state.waiters.isEmpty && state.available >= bytes {
                    state.available -= bytes
                    return true
                }
                state.waiters.append(Waiter(id: id, bytes: bytes, continuation: continuation))
                return false
            }
            if immediate {
                continuation.resume(returning: true)
                return
            }
            // An event-loop timer, cancelled when the waiter is served: a sleeping task would stay
            // queued (holding the budget) until the timeout passed.
            let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
                self?.expire(id)
            }
            let served = state.withLockedValue { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return true }
                state.waiters[index].timer = timer
                return false
            }
            if served { timer.cancel() }
        }
        return granted
    }

    /// Gives `bytes` back (the amount reserved) and wakes the waiters that now fit, in order.
    func release(_ bytes: Int) {
        let bytes = min(max(bytes, 0), capacity)
        let woken: [Waiter] = state.withLockedValue { state in
            state.available += bytes
            var woken: [Waiter] = []
            while let first = state.waiters.first, first.bytes <= state.available {
                state.available -= first.bytes
                woken.append(first)
                state.waiters.removeFirst()
            }
            return woken
        }
        for waiter in woken {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: true)
        }
    }

    private func expire(_ id: UInt64) {
        let expired: CheckedContinuation<Bool, Never>? = state.withLockedValue { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        expired?.resume(returning: false)
        // The head of the queue may have changed: smaller waiters behind it may fit now.
        release(0)
    }
}
