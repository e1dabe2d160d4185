import NIOCore
import SwitchyardCore
import Synchronization

/// The connection limit per upstream host (`max_connections`), across every event loop's pool.
///
/// Only opening and closing a connection take its lock; a request on a reused connection never does. When
/// the limit is reached, requests queue here (in order) until a connection closes or their connect deadline
/// passes; pools close connections rather than keep them idle while anyone waits, so a waiter on another
/// loop gets the freed slot.
final class UpstreamHostLimits: Sendable {
    struct Waiter {
        let id: UInt64
        let exchange: UpstreamExchange
        let pool: EventLoopUpstreamPool
    }

    private struct Host {
        var open = 0
        var waiters = CircularBuffer<Waiter>()
    }

    private struct State {
        var hosts: [UpstreamHostKey: Host] = [:]
        var nextWaiterID: UInt64 = 0
    }

    let maximum: Int
    private let state = Mutex(State())
    private let waiterCount = Atomic<Int>(0)

    init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Whether anyone waits for a connection slot (read on every connection release, so lock-free).
    var hasWaiters: Bool { waiterCount.load(ordering: .relaxed) > 0 }

    /// Takes a slot for a new connection to `key`, or queues `exchange` until one frees up.
    /// - Returns: true when the caller may connect now.
    func reserveOrWait(_ key: UpstreamHostKey, exchange: UpstreamExchange, pool: EventLoopUpstreamPool) -> Bool {
        let waiterID: UInt64? = state.withLock { state in
            if state.hosts[key, default: Host()].open < maximum {
                state.hosts[key, default: Host()].open += 1
                return nil
            }
            let id = state.nextWaiterID
            state.nextWaiterID += 1
            state.hosts[key, default: Host()].waiters.append(Waiter(id: id, exchange: exchange, pool: pool))
            waiterCount.add(1, ordering: .relaxed)
            return id
        }
        guard let waiterID else { return true }
        let deadline = min(exchange.connectDeadline, exchange.headDeadline)
        exchange.eventLoop.scheduleTask(deadline: deadline) { [self] in
            guard removeWaiter(waiterID, key: key) else { return }
            exchange.fail(
                UpstreamFailure(kind: .unavailable, origin: .gatewaySaturated, message: "the gateway's connection limit for this provider is reached"))
        }
        return false
    }

    /// A connection to `key` closed (or never opened): its slot goes to the first waiter, if any.
    func release(_ key: UpstreamHostKey) {
        let next: Waiter? = state.withLock { state in
            guard var host = state.hosts[key] else { return nil }
            defer { state.hosts[key] = host.open == 0 && host.waiters.isEmpty ? nil : host }
            if let waiter = host.waiters.popFirst() {
                waiterCount.subtract(1, ordering: .relaxed)
                return waiter  // the slot passes on: `open` stays as it is
            }
            host.open -= 1
            return nil
        }
        guard let next else { return }
        next.exchange.perform { next.pool.connect(key, for: next.exchange) }
    }

    /// Every waiter, removed (at shutdown).
    func removeAllWaiters() -> [Waiter] {
        state.withLock { state in
            var all: [Waiter] = []
            for key in state.hosts.keys {
                all.append(contentsOf: state.hosts[key]!.waiters)
                state.hosts[key]!.waiters.removeAll()
            }
            waiterCount.store(0, ordering: .relaxed)
            return all
        }
    }

    private func removeWaiter(_ id: UInt64, key: UpstreamHostKey) -> Bool {
        state.withLock { state in
            guard let index = state.hosts[key]?.waiters.firstIndex(where: { $0.id == id }) else { return false }
            state.hosts[key]!.waiters.remove(at: index)
            waiterCount.subtract(1, ordering: .relaxed)
            return true
        }
    }
}
