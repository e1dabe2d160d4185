import Foundation
import Logging
import PostgresNIO
import SQLiteNIO
import SwitchyardCore
import SwitchyardStorage
import Testing

@Suite("Request log storage, on every back end")
struct StoreTests {
    static func record(_ id: String, key: String, target: String?, status: Int = 200, at seconds: Double, usage: Usage?, cost: Double?) -> RequestRecord {
        RequestRecord(
            id: id, time: Date(timeIntervalSince1970: seconds), keyName: key, dialect: "openai", route: "smart", target: target,
            attempts: [.init(target: target ?? "a/m", credentialIndex: 0, failureKind: status == 200 ? nil : "overloaded", status: status == 200 ? nil : 503, latencyMilliseconds: 12)],
            status: status, latencyMilliseconds: 40, timeToFirstByteMilliseconds: 30, usage: usage, cost: cost, stream: false)
    }

    @Test(arguments: StoreBackend.available)
    func recordsQueriesTotalsAndPruning(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let day: Double = 1_764_460_800  // 2025-11-30T00:00:00Z
        let store = try await StoreBackend.open(url)
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
        #expect(abs(try await store.spend(keyName: "web", since: Date(timeIntervalSince1970: day)) - 0.003) < 1e-12)
        #expect(try await store.spend(keyName: "web", since: Date(timeIntervalSince1970: day + 86_400)) == 0)
        await store.close()

        // Reopened: the data is there and the schema is not recreated.
        let reopened = try await StoreBackend.open(url)
        #expect(try await reopened.requests(RequestQuery()).count == 1)
        await reopened.close()
        await remove()
    }

    @Test(arguments: StoreBackend.available)
    func managedKeysAreKeptByDigest(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let store = try await StoreBackend.open(url)
        let key = ManagedKey(
            name: "team-a", digest: SecretDigest("sk-sy-secret"), models: ["smart"], limits: KeyLimits(requestsPerMinute: 5),
            budget: KeyBudget(usd: 3, period: .week, alertAt: 0.5), created: Date(timeIntervalSince1970: 1_764_460_800))
        try await store.saveKey(key)
        var changed = key
        changed.disabled = true
        changed.models = nil
        try await store.saveKey(changed)
        try await store.saveKey(ManagedKey(name: "team-b", digest: SecretDigest("other"), models: nil, limits: nil, budget: nil))
        #expect(try await store.loadKeys() == [changed, ManagedKey(name: "team-b", digest: SecretDigest("other"), models: nil, limits: nil, budget: nil, created: try await store.loadKeys()[1].created)])
        try await store.deleteKey(named: "team-b")
        #expect(try await store.loadKeys().map(\.name) == ["team-a"])
        await store.close()
        await remove()
    }

    @Test func aNewerSQLiteDatabaseIsRefused() async throws {
        let path = NSTemporaryDirectory() + "switchyard-store-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let connection = try await SQLiteConnection.open(storage: .file(path: path))
        _ = try await connection.query("PRAGMA user_version = 99", []).get()
        try await connection.close()
        await #expect { try await SQLiteAccountingStore.open(path: path) } throws: { "\($0)".contains("newer than this Switchyard") }
    }

    @Test(.enabled(if: StoreBackend.postgresURL != nil, "PostgreSQL runs under .ci/run"))
    func aNewerPostgresDatabaseIsRefused() async throws {
        let (url, remove) = try await StoreBackend.postgres.scratch()
        await (try await StoreBackend.open(url)).close()
        let client = PostgresClient(configuration: .init(host: "127.0.0.1", port: URL(string: url)?.port ?? 5432, username: URL(string: url)?.user ?? "", password: nil, database: String(URL(string: url)?.path.dropFirst() ?? ""), tls: .disable), backgroundLogger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            _ = try await client.query("UPDATE switchyard_meta SET version = 99")
            group.cancelAll()
        }
        await #expect { try await StoreBackend.open(url) } throws: { "\($0)".contains("newer than this Switchyard") }
        await remove()
    }
}
