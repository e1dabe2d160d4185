import CoreMetrics
import Foundation
import Logging
import SwitchyardCore
import Synchronization
import Testing

/// A flush writes what was queued when it began, in one batch, and returns: under steady load a flush that
/// chased the records arriving while it wrote never ended and wrote them a record or two per transaction.
@Suite("Request log flush")
struct RequestLogFlushTests {
    @Test func recordsArrivingDuringAFlushWaitForTheNextOne() async throws {
        let store = GatedStore()
        let log = RequestLog(store: store, logger: Logger(label: "test"), metrics: NOOPMetricsHandler.instance)
        for index in 0..<3 { log.record(Self.record(index)) }
        let flushing = Task { await log.flush() }
        await store.firstInsertStarted()
        for index in 3..<5 { log.record(Self.record(index)) }
        store.releaseFirstInsert()
        await flushing.value
        #expect(store.batches == [[0, 1, 2]])
        await log.flush()
        #expect(store.batches == [[0, 1, 2], [3, 4]])
    }

    static func record(_ index: Int) -> RequestRecord {
        RequestRecord(
            id: "req_\(index)", time: Date(timeIntervalSince1970: 1_000_000), keyName: "web", dialect: "openai", route: "smart", target: "oai/gpt-4o",
            attempts: [], status: 200, latencyMilliseconds: 1, timeToFirstByteMilliseconds: nil, usage: nil, cost: nil, stream: false)
    }
}

/// Records the batches it is given; its first insert waits until the test releases it.
private final class GatedStore: AccountingStore {
    private struct State {
        var batches: [[Int]] = []
        var started: CheckedContinuation<Void, Never>?
        var hasStarted = false
        var release: CheckedContinuation<Void, Never>?
        var isReleased = false
    }

    private let state = Mutex(State())

    var batches: [[Int]] { state.withLock { $0.batches } }

    func insert(_ records: [RequestRecord]) async throws {
        let isFirst = state.withLock { state in
            state.batches.append(records.map { Int($0.id.dropFirst(4))! })
            return state.batches.count == 1
        }
        guard isFirst else { return }
        let started = state.withLock { state in
            state.hasStarted = true
            return state.started.take()
        }
        started?.resume()
        await withCheckedContinuation { continuation in
            let released = state.withLock { state in
                if state.isReleased { return true }
                state.release = continuation
                return false
            }
            if released { continuation.resume() }
        }
    }

    func firstInsertStarted() async {
        await withCheckedContinuation { continuation in
            let started = state.withLock { state in
                if state.hasStarted { return true }
                state.started = continuation
                return false
            }
            if started { continuation.resume() }
        }
    }

    func releaseFirstInsert() {
        let waiting = state.withLock { state in
            state.isReleased = true
            return state.release.take()
        }
        waiting?.resume()
    }

    func migrate() async throws {}
    func requests(_ query: RequestQuery) async throws -> [RequestRecord] { [] }
    func usage(_ query: UsageQuery) async throws -> [UsageRow] { [] }
    func spend(keyName: String, since date: Date) async throws -> Double { 0 }
    func lastUsedDays() async throws -> [String: String] { [:] }
    func prune(before date: Date) async throws {}
    func isReachable() async -> Bool { true }
    func close() async {}
}
