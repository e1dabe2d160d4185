import Foundation
import SQLiteNIO
import SwitchyardCore
import SwitchyardStorage
import Testing

@Suite("SQLite request log")
struct SQLiteStoreTests {
    static func temporaryPath() -> String {
        NSTemporaryDirectory() + "switchyard-store-\(UUID().uuidString).db"
    }

    static func record(_ id: String, key: String, target: String?, status: Int = 200, at seconds: Double, usage: Usage?, cost: Double?) -> RequestRecord {
        RequestRecord(
            id: id, time: Date(timeIntervalSince1970: seconds), keyName: key, dialect: "openai", route: "smart", target: target,
            attempts: [.init(target: target ?? "a/m", credentialIndex: 0, failureKind: status == 200 ? nil : "overloaded", status: status == 200 ? nil : 503, latencyMilliseconds: 12)],
            status: status, latencyMilliseconds: 40, timeToFirstByteMilliseconds: 30, usage: usage, cost: cost, stream: false)
    }

    @Test func recordsQueriesTotalsAndPruning() async throws {
        let path = Self.temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let day: Double = 1_764_460_800  // 2025-11-30T00:00:00Z
        let store = try await SQLiteAccountingStore.open(path: path)
        try await store.insert([
            Self.record("r1", key: "web", target: "oai/gpt-4o", at: day + 10, usage: Usage(promptTokens: 100, completionTokens: 10, cachedPromptTokens: 40), cost: 0.001),
            Self.record("r2", key: "web", target: "claude/claude-sonnet-4-5", at: day + 20, usage: Usage(promptTokens: 50, completionTokens: 5), cost: 0.002),
            Self.record("r3", key: "batch", target: nil, status: 503, at: day + 30, usage: nil, cost: nil),
            Self.record("r4", key: "batch", target: "local/llama", at: day + 86_400 + 5, usage: Usage(promptTokens: 7, completionTokens: 3), cost: nil),
        ])
        let newest = try await store.requests(RequestQuery(limit: 2))
        #expect(newest.map(\.id) == ["r4", "r3"])
        let page = try await store.requests(RequestQuery(limit: 2, before: newest.last?.time))
        #expect(page.map(\.id) == ["r2", "r1"])
        #expect(try await store.requests(RequestQuery(keyName: "web")).map(\.id) == ["r2", "r1"])
        #expect(try await store.requests(RequestQuery(status: 503)).first?.attempts.first?.failureKind == "overloaded")
        let first = try #require(try await store.requests(RequestQuery(keyName: "web", limit: 1, before: Date(timeIntervalSince1970: day + 15))).first)
        #expect(first.usage == Usage(promptTokens: 100, completionTokens: 10, cachedPromptTokens: 40) && first.cost == 0.001)

        let byKey = try await store.usage(UsageQuery(since: Date(timeIntervalSince1970: day), until: Date(timeIntervalSince1970: day + 2 * 86_400), groupBy: .key))
        #expect(byKey.map(\.group) == ["batch", "web"])
        #expect(byKey[1].requests == 2 && byKey[1].promptTokens == 150 && abs(byKey[1].cost - 0.003) < 1e-12)
        #expect(byKey[0].errors == 1 && byKey[0].unpricedRequests == 1)  // the error is not "unpriced"; the unpriced answer is
        let byProvider = try await store.usage(UsageQuery(since: Date(timeIntervalSince1970: day), until: Date(timeIntervalSince1970: day), groupBy: .provider))
        #expect(byProvider.map(\.group) == ["", "claude", "oai"])

        // Pruning removes old log entries; the daily totals stay for budgets and reports.
        try await store.prune(before: Date(timeIntervalSince1970: day + 86_400))
        #expect(try await store.requests(RequestQuery()).map(\.id) == ["r4"])
        let days = try await store.usage(UsageQuery(since: Date(timeIntervalSince1970: day), until: Date(timeIntervalSince1970: day + 86_400), groupBy: .day))
        #expect(days.map(\.group) == ["2025-11-30", "2025-12-01"] && days[0].requests == 3)
        await store.close()

        // Reopened: the data is there and the schema is not recreated.
        let reopened = try await SQLiteAccountingStore.open(path: path)
        #expect(try await reopened.requests(RequestQuery()).count == 1)
        await reopened.close()
    }

    @Test func aNewerDatabaseIsRefused() async throws {
        let path = Self.temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let connection = try await SQLiteConnection.open(storage: .file(path: path))
        _ = try await connection.query("PRAGMA user_version = 99", []).get()
        try await connection.close()
        await #expect { try await SQLiteAccountingStore.open(path: path) } throws: { "\($0)".contains("newer than this Switchyard") }
    }
}
