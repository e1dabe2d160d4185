import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import SwitchyardStorage
import Synchronization
import Testing

/// The request log over real HTTP: one entry per routed request with its attempts, usage and cost, read back
/// through the admin API, totals by dimension, and nothing lost on a graceful shutdown.
@Suite("Request log")
struct RequestLogTests {
    static func config(storage: String = "sqlite::memory:") -> String {
        """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        storage: {url: "\(storage)", retention: 30d}
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
          oai: {type: openai, base_url: "http://127.0.0.1:{{oai}}/v1", keys: [sk-openai-key-123456]}
          quiet: {type: openai-compatible, base_url: "http://127.0.0.1:{{oai}}/v1", stream_usage: false}
        models:
          claude: claude/claude-sonnet-4-5
          resilient: {targets: [oai/gpt-4o, claude/claude-sonnet-4-5]}
          quiet: quiet/llama
          audited: {targets: [claude/claude-sonnet-4-5], log_bodies: true}
        routing: {attempts: 3, backoff: {base: 1ms, max: 2ms}}
        keys:
          - {name: web, key: test-key}
          - {name: batch, key: batch-key}
        """
    }

    static let admin = ["authorization": "Bearer admin-key-0123456789"]
    static let claudeAnswer = CostTests.answer  // 2,095 in + 1,024 cache write, 503 out: $0.01767

    @Test(arguments: StoreBackend.available)
    func entriesCarryAttemptsUsageAndCost(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "one two three four"))
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config(storage: url)) { gateway in
            claude.enqueue(.verbatim(body: Self.claudeAnswer))
            let priced = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": "hi"]]])
            #expect(priced.headers.first(name: "x-switchyard-cost") == "0.01767")

            oai.enqueue(.error(status: 503, body: ["error": ["message": "down", "type": "server_error", "param": .null, "code": .null]]))
            let failedOver = try await gateway.post("/v1/chat/completions", json: ["model": "resilient", "messages": [["role": "user", "content": "hi"]]], key: "batch-key")
            #expect(failedOver.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")

            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "quiet", "stream": true, "messages": [["role": "user", "content": "hi"]]])
            _ = try await reader.all()
            // The stream's entry is made as its body ends, just after the client saw the last bytes.
            await gateway.gateway.requestLog?.waitUntilRecorded(3)

            let log = try await gateway.send(.GET, "/admin/requests?limit=10", headers: Self.admin)
            let entries = try #require(log.json?["requests"]?.arrayValue)
            #expect(entries.count == 3)
            // Newest first: the stream without reported usage is estimated from the text it carried.
            #expect(entries[0]["route"] == "quiet" && entries[0]["stream"] == true && entries[0]["usage_estimated"] == true)
            #expect((entries[0]["usage"]?["completion_tokens"]?.intValue ?? 0) > 0)
            #expect(entries[0]["cost_usd"] == .null)  // no price for quiet/llama: unknown, not zero
            #expect(entries[0]["ttfb_ms"] != .null)
            let attempts = try #require(entries[1]["attempts"]?.arrayValue)
            #expect(attempts.map { $0["target"] } == ["oai/gpt-4o", "claude/claude-sonnet-4-5"])
            #expect(attempts[0]["failure_kind"] == "overloaded" && attempts[0]["status"] == 503 && attempts[1]["failure_kind"] == .null)
            #expect(entries[1]["key"] == "batch")
            #expect(entries[2]["key"] == "web" && entries[2]["target"] == "claude/claude-sonnet-4-5" && entries[2]["status"] == 200)
            #expect(entries[2]["usage"]?["cache_write_tokens"] == 1024 && entries[2]["cost_usd"] == .double(0.01767))
            #expect(entries[2]["id"] == .string(priced.headers.first(name: "x-request-id") ?? "?"))

            let byTarget = try await gateway.send(.GET, "/admin/usage?group_by=target", headers: Self.admin)
            let rows = try #require(byTarget.json?["usage"]?.arrayValue)
            let claudeRow = try #require(rows.first { $0["group"] == "claude/claude-sonnet-4-5" })
            #expect(claudeRow["requests"] == 2 && claudeRow["prompt_tokens"]?.intValue ?? 0 >= 3119)
            #expect(rows.first { $0["group"] == "quiet/llama" }?["unpriced_requests"] == 1)
            let bad = try await gateway.send(.GET, "/admin/usage?group_by=planet", headers: Self.admin)
            #expect(bad.status == 400)
            #expect(try await gateway.send(.GET, "/admin/requests").status == 401)
        }
        await remove()
    }

    /// Bodies are kept only for a route that opts in, streamed answers as their text.
    @Test func bodiesAreLoggedOnlyWhereARouteOptsIn() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic, defaultReply: SimulatedReply(text: "Paris is rainy."))
        try await LiveGateway.run(vendors: [claude, SimulatedVendor(name: "oai", format: .openai)], config: Self.config()) { gateway in
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "audited", "messages": [["role": "user", "content": "Weather in Paris?"]]])
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "audited", "stream": true, "messages": [["role": "user", "content": "Again?"]]])
            _ = try await reader.all()
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": "Not kept"]]])
            await gateway.gateway.requestLog?.waitUntilRecorded(3)
            let entries = try #require(try await gateway.send(.GET, "/admin/requests", headers: Self.admin).json?["requests"]?.arrayValue)
            #expect(entries[0]["route"] == "claude" && entries[0]["request_body"] == nil && entries[0]["response_body"] == nil)
            #expect(entries[1]["stream"] == true && entries[1]["response_body"] == "Paris is rainy.")
            #expect(entries[1]["request_body"]?.stringValue?.contains("Again?") == true)
            #expect(entries[2]["request_body"]?.stringValue?.contains("Weather in Paris?") == true)
            #expect(entries[2]["response_body"]?.stringValue?.contains("Paris is rainy.") == true)
        }
    }

    @Test func requestsNoTargetAnsweredAreLoggedWithWhatWasTried() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        claude.failEvery(1, with: .error(status: 529, body: ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]]))
        try await LiveGateway.run(vendors: [claude, SimulatedVendor(name: "oai", format: .openai)], config: Self.config()) { gateway in
            let result = try await gateway.post("/v1/messages", json: ["model": "claude", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]]], key: nil, headers: ["x-api-key": "test-key"])
            #expect(result.status == 529)
            let entry = try #require(try await gateway.send(.GET, "/admin/requests?status=503", headers: Self.admin).json?["requests"]?[0])
            #expect(entry["dialect"] == "anthropic" && entry["target"] == .null)
            #expect(entry["attempts"]?.arrayValue?.allSatisfy { $0["failure_kind"] == "overloaded" } == true)
        }
    }

    /// SIGTERM-style shutdown flushes the queue: every answered request is in the file afterwards.
    @Test func aGracefulShutdownLosesNoEntry() async throws {
        let path = NSTemporaryDirectory() + "switchyard-log-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let oai = SimulatedVendor(name: "oai", format: .openai)
        let ids = try await withThrowingTaskGroup(of: [String].self) { outer in
            outer.addTask {
                let collected = Collected()
                try await LiveGateway.run(vendors: [SimulatedVendor(name: "claude", format: .anthropic), oai], config: Self.config(storage: "sqlite:\(path)")) { gateway in
                    try await withThrowingTaskGroup(of: String.self) { group in
                        for index in 0..<40 {
                            group.addTask {
                                let result = try await gateway.post("/v1/chat/completions", json: ["model": "resilient", "messages": [["role": "user", "content": .string("hi \(index)")]]])
                                return result.headers.first(name: "x-request-id") ?? ""
                            }
                        }
                        for try await id in group { collected.append(id) }
                    }
                }
                return collected.values
            }
            return try await outer.next() ?? []
        }
        #expect(ids.count == 40)
        let store = try await SQLiteAccountingStore.open(path: path)
        let logged = Set(try await store.requests(RequestQuery(limit: 1000)).map(\.id))
        await store.close()
        #expect(logged == Set(ids))
    }
}

final class Collected: Sendable {
    private let state = Mutex<[String]>([])
    func append(_ value: String) { state.withLock { $0.append(value) } }
    var values: [String] { state.withLock { $0 } }
}
