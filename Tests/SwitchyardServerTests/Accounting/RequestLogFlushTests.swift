import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore
@testable import SwitchyardServer
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

    /// The writer pauses between flushes only when less than a full batch waits: with a backlog it writes on
    /// at once, so the log keeps up with any rate its store can take.
    @Test func aFullBatchThatQueuedDuringAFlushIsWrittenWithoutPausing() async throws {
        let store = GatedStore()
        let log = RequestLog(store: store, logger: Logger(label: "test"), metrics: NOOPMetricsHandler.instance)
        let batchesAtFirstPause = Mutex<Int?>(nil)
        let paused = Started()
        var service = RequestLogService(log: log, retention: .seconds(3600), logger: Logger(label: "test"))
        service.pause = { _ in
            batchesAtFirstPause.withLock { $0 = $0 ?? store.batches.count }
            paused.signal()
            try? await Task.sleep(for: .seconds(3600))  // until the shutdown cancels it
        }
        for index in 0..<3 { log.record(Self.record(index)) }
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        await store.firstInsertStarted()
        for index in 3..<603 { log.record(Self.record(index)) }
        store.releaseFirstInsert()
        await paused.wait()
        // The first flush wrote the 3; the 600 that queued meanwhile went at once, as a full batch and the rest.
        #expect(batchesAtFirstPause.withLock { $0 } == 3)
        #expect(store.batches.map(\.count) == [3, 500, 100])
        await group.triggerGracefulShutdown()
        try await running.value
    }

    static func record(_ index: Int) -> RequestRecord {
        RequestRecord(
            id: "req_\(index)", time: Date(timeIntervalSince1970: 1_000_000), keyName: "web", dialect: "openai", route: "smart", target: "oai/gpt-4o",
            attempts: [], status: 200, latencyMilliseconds: 1, timeToFirstByteMilliseconds: nil, usage: nil, cost: nil, stream: false)
    }
}

/// Records the batches it is given; its first insert waits until the test releases it.
private final class GatedStore: AccountingStore {
    private let recorded = Mutex<[[Int]]>([])
    private let firstStarted = Started()
    private let firstReleased = Started()

    var batches: [[Int]] { recorded.withLock { $0 } }

    func insert(_ records: [RequestRecord]) async throws {
        let isFirst = recorded.withLock { batches in
            batches.append(records.map { Int($0.id.dropFirst(4))! })
            return batches.count == 1
        }
        guard isFirst else { return }
        firstStarted.signal()
        await firstReleased.wait()
    }

    func firstInsertStarted() async { await firstStarted.wait() }

    func releaseFirstInsert() { firstReleased.signal() }

    func migrate() async throws {}
    func requests(_ query: RequestQuery) async throws -> [RequestRecord] { [] }
    func usage(_ query: UsageQuery) async throws -> [UsageRow] { [] }
    func spend(keyName: String, since date: Date) async throws -> Double { 0 }
    func lastUsedDays() async throws -> [String: String] { [:] }
    func prune(before date: Date) async throws {}
    func isReachable() async -> Bool { true }
    func close() async {}
}
