import Foundation
import Logging
import PostgresNIO
import SwitchyardCore
import SwitchyardStorage
import Testing

/// The storage back ends every store test runs against: SQLite in a temp file, and PostgreSQL when `.ci/run`
/// (the README's test command) has started one and exported `SWITCHYARD_TEST_POSTGRES_URL`.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES_URL"]

    /// The back ends available here; PostgreSQL always under `.ci/run`.
    static var available: [StoreBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// A fresh, empty database of this kind, as a `storage:` URL, and how to remove it.
    func scratch() async throws -> (url: String, remove: @Sendable () async -> Void) {
        switch self {
        case .sqlite:
            let path = NSTemporaryDirectory() + "switchyard-store-\(UUID().uuidString).db"
            return ("sqlite:\(path)", { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } })
        case .postgres:
            let base = try #require(Self.postgresURL)
            let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            try await Self.admin(base) { client in _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
            let url = String(base[..<(base.lastIndex(of: "/") ?? base.endIndex)]) + "/" + name
            return (url, { try? await Self.admin(base) { client in _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) } })
        }
    }

    /// Opens the store at a scratch URL.
    static func open(_ url: String) async throws -> any AccountingStore & ManagedKeyStore {
        if url.hasPrefix("sqlite:") { return try await SQLiteAccountingStore.open(path: String(url.dropFirst(7))) }
        return try await PostgresAccountingStore.open(url: url)
    }

    private static func admin(_ url: String, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        let parsed = try #require(URL(string: url))
        let client = PostgresClient(
            configuration: .init(
                host: parsed.host ?? "127.0.0.1", port: parsed.port ?? 5432, username: parsed.user ?? "postgres", password: parsed.password,
                database: String(parsed.path.dropFirst()), tls: .disable),
            backgroundLogger: Logger(label: "test.postgres"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}
