public import Foundation
import Logging
import PostgresNIO
public import SwitchyardCore

/// The request log and managed keys in PostgreSQL (`storage: postgres://user:password@host:port/database`),
/// for gateways that outgrow one file. Same schema and semantics as the SQLite store; versioned migrations in
/// a `switchyard_meta` table, a newer database refused. The connection pool runs in a task of its own.
public actor PostgresAccountingStore: AccountingStore, ManagedKeyStore, ResponseStore {
    public static let schemaVersion = 4
    static let logger = Logger(label: "switchyard.storage.postgres")

    private let client: PostgresClient
    private let runner: Task<Void, Never>
    public nonisolated let location: String

    /// Connects to the database at `url` (TLS off: meant for a server on loopback or a private network).
    public static func open(url: String) async throws -> PostgresAccountingStore {
        guard let parsed = URL(string: url), let host = parsed.host, ["postgres", "postgresql"].contains(parsed.scheme ?? "") else {
            throw StorageError("expected postgres://user:password@host:port/database")
        }
        let database = parsed.path.hasPrefix("/") ? String(parsed.path.dropFirst()) : parsed.path
        let configuration = PostgresClient.Configuration(
            host: host, port: parsed.port ?? 5432, username: parsed.user ?? "postgres", password: parsed.password,
            database: database.isEmpty ? nil : database, tls: .disable)
        var logger = Logger(label: "switchyard.storage.postgres")
        logger.logLevel = .warning
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let store = PostgresAccountingStore(client: client, runner: runner, location: "\(host):\(parsed.port ?? 5432)/\(database)")
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(client: PostgresClient, runner: Task<Void, Never>, location: String) {
        self.client = client
        self.runner = runner
        self.location = location
    }

    @discardableResult
    private func run(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await client.query(query) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    public func migrate() async throws {
        try await run("CREATE TABLE IF NOT EXISTS switchyard_meta (version BIGINT NOT NULL)")
        let version = try await run("SELECT version FROM switchyard_meta").first.map { try $0["version"].decode(Int.self) } ?? 0
        guard version <= Self.schemaVersion else {
            throw StorageError("the database at \(location) has schema version \(version), newer than this Switchyard (\(Self.schemaVersion)); use a newer build")
        }
        if version < 1 {
            try await run(
                """
                CREATE TABLE IF NOT EXISTS requests (
                  id TEXT PRIMARY KEY, time DOUBLE PRECISION NOT NULL, key_name TEXT, dialect TEXT NOT NULL, route TEXT, target TEXT, provider TEXT,
                  status BIGINT NOT NULL, latency_ms BIGINT NOT NULL, ttfb_ms BIGINT, prompt_tokens BIGINT, completion_tokens BIGINT, cached_tokens BIGINT,
                  cache_write_tokens BIGINT, reasoning_tokens BIGINT, cost DOUBLE PRECISION, usage_estimated BIGINT NOT NULL, stream BIGINT NOT NULL,
                  attempts TEXT NOT NULL)
                """)
            try await run("CREATE INDEX IF NOT EXISTS requests_time ON requests(time)")
            try await run(
                """
                CREATE TABLE IF NOT EXISTS daily_usage (
                  day TEXT NOT NULL, key_name TEXT NOT NULL, route TEXT NOT NULL, target TEXT NOT NULL, provider TEXT NOT NULL,
                  requests BIGINT NOT NULL, errors BIGINT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
                  cached_tokens BIGINT NOT NULL, cost DOUBLE PRECISION NOT NULL, unpriced BIGINT NOT NULL, PRIMARY KEY (day, key_name, route, target))
                """)
        }
        if version < 2 {
            try await run(
                """
                CREATE TABLE IF NOT EXISTS managed_keys (
                  name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, models TEXT, limits TEXT, budget TEXT, disabled BIGINT NOT NULL,
                  created DOUBLE PRECISION NOT NULL)
                """)
        }
        if version < 3 {
            try await run("ALTER TABLE requests ADD COLUMN IF NOT EXISTS request_body TEXT")
            try await run("ALTER TABLE requests ADD COLUMN IF NOT EXISTS response_body TEXT")
        }
        if version < 4 {
            try await run(
                "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, key_name TEXT, created DOUBLE PRECISION NOT NULL, response TEXT NOT NULL, input_items TEXT NOT NULL)")
            try await run("CREATE INDEX IF NOT EXISTS responses_created ON responses(created)")
            try await run("ALTER TABLE requests ADD COLUMN IF NOT EXISTS end_user TEXT")
        }
        if version < Self.schemaVersion {
            try await run("DELETE FROM switchyard_meta")
            try await run("INSERT INTO switchyard_meta (version) VALUES (\(Self.schemaVersion))")
        }
    }

    /// One multi-row INSERT of `records`.
    static func insertRequests(_ records: ArraySlice<RequestRecord>) throws -> PostgresQuery {
        let width = RequestRow.columns.count
        var binds = PostgresBindings(capacity: records.count * width)
        var rows: [String] = []
        rows.reserveCapacity(records.count)
        for record in records {
            let first = binds.count + 1
            rows.append("(" + (first..<(first + width)).map { "$\($0)" }.joined(separator: ", ") + ")")
            for value in RequestRow.values(of: record) {
                switch value {
                case .text(let text): binds.append(text)
                case .integer(let number): binds.append(number)
                case .real(let number): binds.append(number)
                }
            }
        }
        let sql = "INSERT INTO requests (\(RequestRow.columnList)) VALUES \(rows.joined(separator: ", ")) ON CONFLICT (id) DO NOTHING"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    public func insert(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        try await client.withTransaction(logger: Self.logger) { connection in
            // Many rows per statement: a statement per record was a network round trip per record.
            for chunk in RequestRow.statements(records) {
                try await connection.query(try Self.insertRequests(chunk), logger: Self.logger)
            }
            // The day's totals, added up per group first: one upsert per group, not per record.
            for total in DailyTotal.totals(of: records) {
                try await connection.query(
                    """
                    INSERT INTO daily_usage (day, key_name, route, target, provider, requests, errors, prompt_tokens, completion_tokens, cached_tokens, cost, unpriced)
                    VALUES (\(total.day), \(total.keyName), \(total.route), \(total.target), \(total.provider), \(total.requests), \(total.errors),
                      \(total.promptTokens), \(total.completionTokens), \(total.cachedTokens), \(total.cost), \(total.unpriced))
                    ON CONFLICT (day, key_name, route, target) DO UPDATE SET
                      requests = daily_usage.requests + excluded.requests, errors = daily_usage.errors + excluded.errors,
                      prompt_tokens = daily_usage.prompt_tokens + excluded.prompt_tokens, completion_tokens = daily_usage.completion_tokens + excluded.completion_tokens,
                      cached_tokens = daily_usage.cached_tokens + excluded.cached_tokens, cost = daily_usage.cost + excluded.cost,
                      unpriced = daily_usage.unpriced + excluded.unpriced
                    """, logger: Self.logger)
            }
        }
    }

    public func requests(_ query: RequestQuery) async throws -> [RequestRecord] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func add(_ condition: String, _ value: some PostgresThrowingDynamicTypeEncodable) throws {
            try binds.append(value)
            conditions.append(condition.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let id = query.id { try add("id = ?", id) }
        if let key = query.keyName { try add("key_name = ?", key) }
        if let target = query.target { try add("target = ?", target) }
        if let route = query.route { try add("route = ?", route) }
        if let status = query.status { try add("status = ?", status) }
        if let since = query.since { try add("time >= ?", since.timeIntervalSince1970) }
        if let until = query.until { try add("time < ?", until.timeIntervalSince1970) }
        if let before = query.before { try add("time < ?", before.timeIntervalSince1970) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await run(PostgresQuery(unsafeSQL: "SELECT * FROM requests \(filter) ORDER BY time DESC, id DESC LIMIT \(query.limit)", binds: binds))
        return try rows.map { row in
            func int(_ name: String) throws -> Int? { try row[name].decode(Int?.self) }
            let attempts = RequestRecord.Attempt.decodeList(try row["attempts"].decode(String.self))
            let usage = try int("prompt_tokens").map { prompt in
                Usage(
                    promptTokens: prompt, completionTokens: try int("completion_tokens") ?? 0, cachedPromptTokens: try int("cached_tokens") ?? 0,
                    cacheWritePromptTokens: try int("cache_write_tokens") ?? 0, reasoningTokens: try int("reasoning_tokens") ?? 0)
            }
            var record = RequestRecord(
                id: try row["id"].decode(String.self), time: Date(timeIntervalSince1970: try row["time"].decode(Double.self)),
                keyName: try row["key_name"].decode(String?.self), dialect: try row["dialect"].decode(String.self), route: try row["route"].decode(String?.self),
                target: try row["target"].decode(String?.self), attempts: attempts, status: try int("status") ?? 0, latencyMilliseconds: try int("latency_ms") ?? 0,
                timeToFirstByteMilliseconds: try int("ttfb_ms"), usage: usage, cost: try row["cost"].decode(Double?.self),
                usageEstimated: try int("usage_estimated") == 1, stream: try int("stream") == 1,
                requestBody: try row["request_body"].decode(String?.self), responseBody: try row["response_body"].decode(String?.self))
            record.endUser = try row["end_user"].decode(String?.self)
            return record
        }
    }

    public func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        let column = query.groupBy.column
        var binds = PostgresBindings()
        binds.append(SQLiteAccountingStore.day(query.since))
        binds.append(SQLiteAccountingStore.day(query.until))
        let rows = try await run(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(column) AS grouping, SUM(requests)::BIGINT AS requests, SUM(errors)::BIGINT AS errors, SUM(prompt_tokens)::BIGINT AS prompt_tokens,
                      SUM(completion_tokens)::BIGINT AS completion_tokens, SUM(cached_tokens)::BIGINT AS cached_tokens, SUM(cost) AS cost, SUM(unpriced)::BIGINT AS unpriced
                    FROM daily_usage WHERE day >= $1 AND day <= $2 GROUP BY \(column) ORDER BY \(column)
                    """, binds: binds))
        return try rows.map { row in
            UsageRow(
                group: try row["grouping"].decode(String.self), requests: try row["requests"].decode(Int.self), errors: try row["errors"].decode(Int.self),
                promptTokens: try row["prompt_tokens"].decode(Int.self), completionTokens: try row["completion_tokens"].decode(Int.self),
                cachedTokens: try row["cached_tokens"].decode(Int.self), cost: try row["cost"].decode(Double.self), unpricedRequests: try row["unpriced"].decode(Int.self))
        }
    }

    public func spend(keyName: String, since date: Date) async throws -> Double {
        try await run("SELECT COALESCE(SUM(cost), 0) AS spent FROM daily_usage WHERE key_name = \(keyName) AND day >= \(SQLiteAccountingStore.day(date))")
            .first.map { try $0["spent"].decode(Double.self) } ?? 0
    }

    public func lastUsedDays() async throws -> [String: String] {
        var days: [String: String] = [:]
        for row in try await run("SELECT key_name, MAX(day) AS last_day FROM daily_usage WHERE requests > 0 GROUP BY key_name") {
            days[try row["key_name"].decode(String.self)] = try row["last_day"].decode(String.self)
        }
        return days
    }

    public func prune(before date: Date) async throws {
        try await run("DELETE FROM requests WHERE time < \(date.timeIntervalSince1970)")
    }

    public func isReachable() async -> Bool {
        (try? await run("SELECT 1")) != nil
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    // MARK: managed keys

    public func loadKeys() async throws -> [ManagedKey] {
        try await run("SELECT * FROM managed_keys ORDER BY name").compactMap { row in
            guard let digest = SecretDigest(hex: try row["digest"].decode(String.self)) else { return nil }
            return ManagedKey.decoded(
                name: try row["name"].decode(String.self), digest: digest, models: try row["models"].decode(String?.self),
                limits: try row["limits"].decode(String?.self), budget: try row["budget"].decode(String?.self), disabled: try row["disabled"].decode(Int.self) == 1,
                created: try row["created"].decode(Double.self))
        }
    }

    public func saveKey(_ key: ManagedKey) async throws {
        let fields = key.encodedFields
        try await run(
            """
            INSERT INTO managed_keys (name, digest, models, limits, budget, disabled, created)
            VALUES (\(key.name), \(key.digest.hex), \(fields.models), \(fields.limits), \(fields.budget), \(key.disabled ? 1 : 0), \(key.created.timeIntervalSince1970))
            ON CONFLICT (name) DO UPDATE SET models = excluded.models, limits = excluded.limits, budget = excluded.budget, disabled = excluded.disabled
            """)
    }

    public func deleteKey(named name: String) async throws {
        try await run("DELETE FROM managed_keys WHERE name = \(name)")
    }

    // MARK: conversation state

    public func saveResponse(_ response: StoredResponse) async throws {
        try await run(
            """
            INSERT INTO responses (id, key_name, created, response, input_items)
            VALUES (\(response.id), \(response.keyName), \(response.created.timeIntervalSince1970), \(response.response), \(response.inputItems))
            ON CONFLICT (id) DO UPDATE SET key_name = excluded.key_name, created = excluded.created, response = excluded.response, input_items = excluded.input_items
            """)
    }

    public func loadResponse(id: String) async throws -> StoredResponse? {
        try await run("SELECT * FROM responses WHERE id = \(id)").first.map { row in
            StoredResponse(
                id: id, keyName: try row["key_name"].decode(String?.self), created: Date(timeIntervalSince1970: try row["created"].decode(Double.self)),
                response: try row["response"].decode(String.self), inputItems: try row["input_items"].decode(String.self))
        }
    }

    public func deleteResponse(id: String) async throws -> Bool {
        !(try await run("DELETE FROM responses WHERE id = \(id) RETURNING id").isEmpty)
    }

    public func pruneResponses(before date: Date) async throws {
        try await run("DELETE FROM responses WHERE created < \(date.timeIntervalSince1970)")
    }
}
