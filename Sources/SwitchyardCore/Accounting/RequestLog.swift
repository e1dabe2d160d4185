public import CoreMetrics
import Foundation
public import Logging
import Synchronization

/// The request log's writer: requests hand their record over without waiting (a bounded queue), and a
/// background loop writes them in batches. A full queue, or a store that fails, sheds records and counts
/// them; the requests themselves never wait for or fail because of the log.
public final class RequestLog: Sendable {
    /// Records waiting at most; beyond it new ones are shed.
    public static let capacity = 10_000
    /// Records written per transaction.
    static let batchSize = 500

    private struct State {
        var pending: [RequestRecord] = []
        var shed = 0
        /// Records handed over so far (queued or shed).
        var handedOver = 0
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Whether shedding was logged in the current episode (logged once until the queue has room again).
        var reportedShedding = false
    }

    public let store: any AccountingStore
    private let state = Mutex(State())
    private let logger: Logger
    private let shedCounter: Counter
    private let queueDepth: Gauge

    public init(store: any AccountingStore, logger: Logger, metrics: any MetricsFactory) {
        self.store = store
        self.logger = logger
        self.shedCounter = Counter(label: "switchyard_request_log_shed_total", factory: metrics)
        self.queueDepth = Gauge(label: "switchyard_request_log_queue_depth", factory: metrics)
    }

    /// Queues `record`; never blocks. Returns false when it was shed.
    @discardableResult
    public func record(_ record: RequestRecord) -> Bool {
        let (accepted, firstShed, woken) = state.withLock { state -> (Bool, Bool, [CheckedContinuation<Void, Never>]) in
            state.handedOver += 1
            let handedOver = state.handedOver
            var woken: [CheckedContinuation<Void, Never>] = []
            if !state.waiters.isEmpty {
                woken = state.waiters.filter { $0.count <= handedOver }.map(\.continuation)
                state.waiters.removeAll { $0.count <= handedOver }
            }
            guard state.pending.count < Self.capacity else {
                state.shed += 1
                defer { state.reportedShedding = true }
                return (false, !state.reportedShedding, woken)
            }
            state.pending.append(record)
            state.reportedShedding = false
            return (true, false, woken)
        }
        for waiter in woken { waiter.resume() }
        if !accepted {
            shedCounter.increment()
            if firstShed { logger.warning("Request log queue is full: shedding log entries (the requests are served)", metadata: ["capacity": "\(Self.capacity)"]) }
        }
        return accepted
    }

    /// Returns once `count` records have been handed over since the start (for tests and drills that must
    /// know a request's entry exists, such as a stream whose end the client saw just before its entry was made).
    public func waitUntilRecorded(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.handedOver >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Whether at least a transaction's worth of records is queued.
    public var hasFullBatchWaiting: Bool { state.withLock { $0.pending.count >= Self.batchSize } }

    /// Records shed so far.
    public var shedCount: Int { state.withLock { $0.shed } }

    /// One writer at a time: a flush that finds another running waits for it, so when `flush()` returns
    /// everything queued before the call is in the store (the admin API reads right after flushing).
    private let writing = Mutex<(busy: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    private func acquireWriter() async {
        await withCheckedContinuation { continuation in
            let granted = writing.withLock { state in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func releaseWriter() {
        let next = writing.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    /// Writes everything queued so far. A failed batch is shed and counted, never retried forever.
    ///
    /// Records that arrive while it writes wait for the next flush: a flush that chased them would, under
    /// steady load, never end, and write a transaction of a record or two at a time instead of one batch
    /// per flush interval.
    public func flush() async {
        await acquireWriter()
        defer { releaseWriter() }
        var remaining = state.withLock { $0.pending.count }
        while remaining > 0 {
            let batch: [RequestRecord] = state.withLock { state in
                let count = min(state.pending.count, remaining, Self.batchSize)
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            remaining -= batch.count
            queueDepth.record(state.withLock { $0.pending.count })
            guard !batch.isEmpty else { return }
            do {
                try await store.insert(batch)
            } catch {
                state.withLock { $0.shed += batch.count }
                shedCounter.increment(by: batch.count)
                logger.error("Request log write failed; entries shed", metadata: ["entries": "\(batch.count)", "error": "\(error)"])
            }
        }
    }
}
