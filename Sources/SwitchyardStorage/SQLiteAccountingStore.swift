public import Foundation
import SQLiteNIO
public import SwitchyardCore

/// The request log in SQLite (the embedded default): WAL mode, created and migrated on open, one connection
/// used by one writer at a time (the store is an actor; it is never on a request's path).
public actor SQLiteAccountingStore: AccountingStore, ManagedKeyStore, ResponseStore {
    /// The schema version this build writes.
    public static let schemaVersion = 4

    private let connection: SQLiteConnection
    public nonisolated let location: String

    /// Opens (creating if needed) the database at `path`, or an in-memory one for `":memory:"`.
    public static func open(path: String) async throws -> SQLiteAccountingStore {
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        let connection = try await SQLiteConnection.open(storage: storage)
        let store = SQLiteAccountingStore(connection: connection, location: path)
        do {
            try await store.migrate()
        } catch {
            // The driver insists on an explicit close before the connection goes away.
            await store.close()
            throw error
        }
        return store
    }

    private init(connection: SQLiteConnection, location: String) {
        self.connection = connection
        self.location = location
    }

    @discardableResult
    private func run(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await connection.query(sql, binds).get()
    }

    public func migrate() async throws {
        let version = try await run("PRAGMA user_version").first?.column("user_version")?.integer ?? 0
        guard version <= Self.schemaVersion else {
            throw StorageError("the database at \(location) has schema version \(version), newer than this Switchyard (\(Self.schemaVersion)); use a newer build")
        }
        if location != ":memory:" { try await run("PRAGMA journal_mode=WAL") }
        try await run("PRAGMA synchronous=NORMAL")
        if version < 1 {
            try await run("BEGIN")
            try await run(
                """
                CREATE TABLE IF NOT EXISTS requests (
                  id TEXT PRIMARY KEY, time REAL NOT NULL, key_name TEXT, dialect TEXT NOT NULL, route TEXT, target TEXT, provider TEXT,
                  status INTEGER NOT NULL, latency_ms INTEGER NOT NULL, ttfb_ms INTEGER,
                  prompt_tokens INTEGER, completion_tokens INTEGER, cached_tokens INTEGER, cache_write_tokens INTEGER, reasoning_tokens INTEGER,
                  cost REAL, usage_estimated INTEGER NOT NULL, stream INTEGER NOT NULL, attempts TEXT NOT NULL)
                """)
            try await run("CREATE INDEX IF NOT EXISTS requests_time ON requests(time)")
            try await run(
                """
                CREATE TABLE IF NOT EXISTS daily_usage (
                  day TEXT NOT NULL, key_name TEXT NOT NULL, route TEXT NOT NULL, target TEXT NOT NULL, provider TEXT NOT NULL,
                  requests INTEGER NOT NULL, errors INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
                  cached_tokens INTEGER NOT NULL, cost REAL NOT NULL, unpriced INTEGER NOT NULL,
                  PRIMARY KEY (day, key_name, route, target))
                """)
            try await run("PRAGMA user_version = 1")
            try await run("COMMIT")
        }
        if version < 2 {
            try await run("BEGIN")
            try await run(
                """
                CREATE TABLE IF NOT EXISTS managed_keys (
                  name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, models TEXT, limits TEXT, budget TEXT, disabled INTEGER NOT NULL, created REAL NOT NULL)
                """)
            try await run("PRAGMA user_version = 2")
            try await run("COMMIT")
        }
        if version < 3 {
            try await run("BEGIN")
            try await run("ALTER TABLE requests ADD COLUMN request_body TEXT")
            try await run("ALTER TABLE requests ADD COLUMN response_body TEXT")
            try await run("PRAGMA user_version = 3")
            try await run("COMMIT")
        }
        if version < 4 {
            try await run("BEGIN")
            try await run(
                "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, key_name TEXT, created REAL NOT NULL, response TEXT NOT NULL, input_items TEXT NOT NULL)")
            try await run("CREATE INDEX IF NOT EXISTS responses_created ON responses(created)")
            try await run("ALTER TABLE requests ADD COLUMN end_user TEXT")
            try await run("PRAGMA user_version = 4")
            try await run("COMMIT")
        }
    }

    // MARK: managed keys

    public func loadKeys() async throws -> [ManagedKey] {
        try await run("SELECT * FROM managed_keys ORDER BY name").compactMap { row in
            guard let digest = row.column("digest")?.string.flatMap(SecretDigest.init(hex:)) else { return nil }
            return ManagedKey.decoded(
                name: row.column("name")?.string ?? "", digest: digest, models: row.column("models")?.string, limits: row.column("limits")?.string,
                budget: row.column("budget")?.string, disabled: row.column("disabled")?.integer == 1, created: row.column("created")?.double ?? 0)
        }
    }

    public func saveKey(_ key: ManagedKey) async throws {
        let fields = key.encodedFields
        try await run(
            """
            INSERT INTO managed_keys (name, digest, models, limits, budget, disabled, created) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET models = excluded.models, limits = excluded.limits, budget = excluded.budget, disabled = excluded.disabled
            """,
            [
                .text(key.name), .text(key.digest.hex), optional(fields.models), optional(fields.limits), optional(fields.budget), .integer(key.disabled ? 1 : 0),
                .float(key.created.timeIntervalSince1970),
            ])
    }

    public func deleteKey(named name: String) async throws {
        try await run("DELETE FROM managed_keys WHERE name = ?", [.text(name)])
    }

    public func insert(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        try await run("BEGIN")
        do {
            let row = "(" + Array(repeating: "?", count: RequestRow.columns.count).joined(separator: ", ") + ")"
            for chunk in RequestRow.statements(records) {
                var binds: [SQLiteData] = []
                binds.reserveCapacity(chunk.count * RequestRow.columns.count)
                for record in chunk {
                    for value in RequestRow.values(of: record) {
                        switch value {
                        case .text(let text): binds.append(text.map(SQLiteData.text) ?? .null)
                        case .integer(let number): binds.append(number.map(SQLiteData.integer) ?? .null)
                        case .real(let number): binds.append(number.map(SQLiteData.float) ?? .null)
                        }
                    }
                }
                try await run(
                    "INSERT OR IGNORE INTO requests (\(RequestRow.columnList)) VALUES " + Array(repeating: row, count: chunk.count).joined(separator: ", "),
                    binds)
            }
            // The day's totals, added up per group first: one upsert per group, not per record.
            for total in DailyTotal.totals(of: records) {
                try await run(
                    """
                    INSERT INTO daily_usage (day, key_name, route, target, provider, requests, errors, prompt_tokens, completion_tokens, cached_tokens, cost, unpriced)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (day, key_name, route, target) DO UPDATE SET
                      requests = requests + excluded.requests, errors = errors + excluded.errors, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                      completion_tokens = completion_tokens + excluded.completion_tokens, cached_tokens = cached_tokens + excluded.cached_tokens,
                      cost = cost + excluded.cost, unpriced = unpriced + excluded.unpriced
                    """,
                    [
                        .text(total.day), .text(total.keyName), .text(total.route), .text(total.target), .text(total.provider), .integer(total.requests),
                        .integer(total.errors), .integer(total.promptTokens), .integer(total.completionTokens), .integer(total.cachedTokens),
                        .float(total.cost), .integer(total.unpriced),
                    ])
            }
            try await run("COMMIT")
        } catch {
            // The batch's own error is the one to report; a failed rollback leaves nothing committed either.
            _ = try? await run("ROLLBACK")
            throw error
        }
    }

    public func requests(_ query: RequestQuery) async throws -> [RequestRecord] {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let id = query.id { conditions.append("id = ?"); binds.append(.text(id)) }
        if let key = query.keyName { conditions.append("key_name = ?"); binds.append(.text(key)) }
        if let target = query.target { conditions.append("target = ?"); binds.append(.text(target)) }
        if let route = query.route { conditions.append("route = ?"); binds.append(.text(route)) }
        if let status = query.status { conditions.append("status = ?"); binds.append(.integer(status)) }
        if let since = query.since { conditions.append("time >= ?"); binds.append(.float(since.timeIntervalSince1970)) }
        if let until = query.until { conditions.append("time < ?"); binds.append(.float(until.timeIntervalSince1970)) }
        if let before = query.before { conditions.append("time < ?"); binds.append(.float(before.timeIntervalSince1970)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await run("SELECT * FROM requests \(filter) ORDER BY time DESC, id DESC LIMIT \(query.limit)", binds)
        return rows.map(Self.record)
    }

    public func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        let column = query.groupBy.column
        let rows = try await run(
            """
            SELECT \(column) AS grouping, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens,
              SUM(completion_tokens) AS completion_tokens, SUM(cached_tokens) AS cached_tokens, SUM(cost) AS cost, SUM(unpriced) AS unpriced
            FROM daily_usage WHERE day >= ? AND day <= ? GROUP BY \(column) ORDER BY \(column)
            """, [.text(Self.day(query.since)), .text(Self.day(query.until))])
        return rows.map { row in
            UsageRow(
                group: row.column("grouping")?.string ?? "", requests: row.column("requests")?.integer ?? 0, errors: row.column("errors")?.integer ?? 0,
                promptTokens: row.column("prompt_tokens")?.integer ?? 0, completionTokens: row.column("completion_tokens")?.integer ?? 0,
                cachedTokens: row.column("cached_tokens")?.integer ?? 0, cost: row.column("cost")?.double ?? 0,
                unpricedRequests: row.column("unpriced")?.integer ?? 0)
        }
    }

    public func spend(keyName: String, since date: Date) async throws -> Double {
        let rows = try await run("SELECT SUM(cost) AS spent FROM daily_usage WHERE key_name = ? AND day >= ?", [.text(keyName), .text(Self.day(date))])
        return rows.first?.column("spent")?.double ?? 0
    }

    public func lastUsedDays() async throws -> [String: String] {
        let rows = try await run("SELECT key_name, MAX(day) AS last_day FROM daily_usage WHERE requests > 0 GROUP BY key_name")
        var days: [String: String] = [:]
        for row in rows {
            if let key = row.column("key_name")?.string, let day = row.column("last_day")?.string { days[key] = day }
        }
        return days
    }

    public func prune(before date: Date) async throws {
        try await run("DELETE FROM requests WHERE time < ?", [.float(date.timeIntervalSince1970)])
    }

    // MARK: conversation state

    public func saveResponse(_ response: StoredResponse) async throws {
        try await run(
            "INSERT OR REPLACE INTO responses (id, key_name, created, response, input_items) VALUES (?, ?, ?, ?, ?)",
            [.text(response.id), optional(response.keyName), .float(response.created.timeIntervalSince1970), .text(response.response), .text(response.inputItems)])
    }

    public func loadResponse(id: String) async throws -> StoredResponse? {
        try await run("SELECT * FROM responses WHERE id = ?", [.text(id)]).first.map { row in
            StoredResponse(
                id: id, keyName: row.column("key_name")?.string, created: Date(timeIntervalSince1970: row.column("created")?.double ?? 0),
                response: row.column("response")?.string ?? "{}", inputItems: row.column("input_items")?.string ?? "[]")
        }
    }

    public func deleteResponse(id: String) async throws -> Bool {
        let existed = try await run("SELECT 1 AS present FROM responses WHERE id = ?", [.text(id)]).first != nil
        try await run("DELETE FROM responses WHERE id = ?", [.text(id)])
        return existed
    }

    public func pruneResponses(before date: Date) async throws {
        try await run("DELETE FROM responses WHERE created < ?", [.float(date.timeIntervalSince1970)])
    }

    public func isReachable() async -> Bool {
        (try? await run("SELECT 1")) != nil
    }

    public func close() async {
        try? await connection.close()
    }

    // MARK: encoding

    private func optional(_ text: String?) -> SQLiteData { text.map(SQLiteData.text) ?? .null }
    private func optional(_ number: Int?) -> SQLiteData { number.map(SQLiteData.integer) ?? .null }

    static func provider(of target: String?) -> String? {
        target.flatMap { $0.split(separator: "/", maxSplits: 1).first.map(String.init) }
    }

    /// The UTC day of `date` as `YYYY-MM-DD`.
    static func day(_ date: Date) -> String {
        UTCTime(unixSeconds: date.timeIntervalSince1970).isoDay
    }

    static func encode(_ attempts: [RequestRecord.Attempt]) -> String {
        JSONValue.array(
            attempts.map { attempt in
                var object: JSONObject = ["target": .string(attempt.target), "credential_index": .int(attempt.credentialIndex)]
                if let kind = attempt.failureKind { object["failure_kind"] = .string(kind) }
                if let status = attempt.status { object["status"] = .int(status) }
                if let latency = attempt.latencyMilliseconds { object["latency_ms"] = .int(latency) }
                return .object(object)
            }
        ).jsonString
    }

    static func record(_ row: SQLiteRow) -> RequestRecord {
        func int(_ name: String) -> Int? { row.column(name)?.integer }
        let attempts = RequestRecord.Attempt.decodeList(row.column("attempts")?.string ?? "[]")
        let usage = int("prompt_tokens").map { prompt in
            Usage(
                promptTokens: prompt, completionTokens: int("completion_tokens") ?? 0, cachedPromptTokens: int("cached_tokens") ?? 0,
                cacheWritePromptTokens: int("cache_write_tokens") ?? 0, reasoningTokens: int("reasoning_tokens") ?? 0)
        }
        var record = RequestRecord(
            id: row.column("id")?.string ?? "", time: Date(timeIntervalSince1970: row.column("time")?.double ?? 0), keyName: row.column("key_name")?.string,
            dialect: row.column("dialect")?.string ?? "", route: row.column("route")?.string, target: row.column("target")?.string, attempts: attempts,
            status: int("status") ?? 0, latencyMilliseconds: int("latency_ms") ?? 0, timeToFirstByteMilliseconds: int("ttfb_ms"), usage: usage,
            cost: row.column("cost")?.double, usageEstimated: int("usage_estimated") == 1, stream: int("stream") == 1,
            requestBody: row.column("request_body")?.string, responseBody: row.column("response_body")?.string)
        record.endUser = row.column("end_user")?.string
        return record
    }
}

/// A storage problem that is not the database driver's own.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
