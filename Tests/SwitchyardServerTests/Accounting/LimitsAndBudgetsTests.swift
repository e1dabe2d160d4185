import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import SwitchyardStorage
import Testing

/// Per-key rate limits and budgets over HTTP, in both dialects: refused before any provider is called.
@Suite("Key limits and budgets")
struct LimitsAndBudgetsTests {
    static func config(storage: String = "sqlite::memory:") -> String {
        """
        listen: 127.0.0.1:0
        storage: "\(storage)"
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
        models:
          claude: claude/claude-sonnet-4-5
        keys:
          - {name: limited, key: limited-key, limits: {rpm: 2, tpm: 100000}}
          - {name: thrifty, key: thrifty-key, budget: {usd: 0.03, period: month, alert_at: 80%}}
          - {name: racer, key: racer-key, budget: {usd: 0.1, period: day}}
        """
    }

    static let hi: JSONValue = ["model": "claude", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]]]

    @Test func requestsPerMinuteAreEnforcedWithTheSDKsHeaders() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        try await LiveGateway.run(vendors: [claude], config: Self.config()) { gateway in
            let first = try await gateway.post("/v1/chat/completions", json: Self.hi, key: "limited-key")
            #expect(first.status == 200)
            #expect(first.headers.first(name: "x-ratelimit-limit-requests") == "2")
            #expect(first.headers.first(name: "x-ratelimit-remaining-requests") == "1")
            #expect(first.headers.first(name: "x-ratelimit-limit-tokens") == "100000")
            let second = try await gateway.post("/v1/messages", json: Self.hi, key: nil, headers: ["x-api-key": "limited-key"])
            #expect(second.status == 200 && second.headers.first(name: "x-ratelimit-remaining-requests") == "0")
            let third = try await gateway.post("/v1/messages", json: Self.hi, key: nil, headers: ["x-api-key": "limited-key"])
            #expect(third.status == 429)
            #expect(third.json?["error"]?["type"] == "rate_limit_error")
            #expect(Int(third.headers.first(name: "retry-after") ?? "") ?? 0 >= 1)
            let fourth = try await gateway.post("/v1/chat/completions", json: Self.hi, key: "limited-key")
            #expect(fourth.status == 429 && fourth.json?["error"]?["message"]?.stringValue?.contains("2 requests per minute") == true)
            #expect(claude.requestCount == 2)  // the refused ones never reached the provider
            let metrics = try await gateway.send(.GET, "/metrics").body
            #expect(metricSum(metrics, name: "switchyard_key_rejections_total", where: #"reason="rate_limit""#) == 2)
            #expect(metrics.contains("switchyard_upstream_in_flight"))
        }
    }

    /// Each answer costs $0.01767 (2,095 + 1,024 cache write in, 503 out): $0.03 admits two (the second still
    /// fits its small reservation), then refuses with a 429 that says budget and tells SDKs not to retry.
    @Test func aSpentBudgetRefusesTheNextRequest() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        try await LiveGateway.run(vendors: [claude], config: Self.config()) { gateway in
            for _ in 0..<2 {
                claude.enqueue(.verbatim(body: CostTests.answer))
                #expect(try await gateway.post("/v1/chat/completions", json: Self.hi, key: "thrifty-key").status == 200)
            }
            let refused = try await gateway.post("/v1/messages", json: Self.hi, key: nil, headers: ["x-api-key": "thrifty-key"])
            #expect(refused.status == 429)
            #expect(refused.headers.first(name: "x-should-retry") == "false")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("Budget exceeded for key 'thrifty'") == true)
            let again = try await gateway.post("/v1/chat/completions", json: Self.hi, key: "thrifty-key")
            #expect(again.status == 429 && again.headers.first(name: "x-should-retry") == "false")
            #expect(claude.requestCount == 2)
            #expect(metricSum(try await gateway.send(.GET, "/metrics").body, name: "switchyard_key_rejections_total", where: #"reason="budget""#) == 2)
        }
    }

    /// 64 streams race a $0.10 budget while the vendor holds them open: each reserves its estimated cost
    /// (max_tokens 1,000 at Claude's output price ≈ $0.015), so only what fits is admitted; the rest never
    /// reach the vendor. When they finish, the spend is the actual, below the budget.
    @Test func racingRequestsNeverOverspend() async throws {
        let gate = SimulatorGate()
        let claude = SimulatedVendor(name: "claude", format: .anthropic, defaultReply: SimulatedReply(text: "ok", holdBeforeFinish: gate))
        try await LiveGateway.run(vendors: [claude], config: Self.config()) { gateway in
            let request: JSONValue = ["model": "claude", "max_tokens": 1000, "stream": true, "messages": [["role": "user", "content": "hi"]]]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        let (head, reader) = try await gateway.openStream("/v1/chat/completions", json: request, key: "racer-key")
                        if head.status.code == 200 { _ = try await reader.all() }
                        return Int(head.status.code)
                    }
                }
                // Every stream was either admitted (and is held by the vendor) or refused: then let them finish.
                var done: [Int] = []
                for try await status in group {
                    done.append(status)
                    if done.count == 64 - 6 { gate.open() }
                }
                return done
            }
            #expect(statuses.filter { $0 == 200 }.count == 6)
            #expect(statuses.filter { $0 == 429 }.count == 58)
            #expect(claude.requestCount == 6)
            let state = try #require(gateway.gateway.table.keyStates["racer"])
            let spent = state.committed(budget: KeyBudget(usd: 0.1, period: .day))
            #expect(spent > 0 && spent < 0.1)
        }
    }

    /// Crossing `alert_at` sends one alert through the webhook.
    @Test func crossingTheAlertShareSendsOneAlert() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let config = Self.config() + "\nalerts: {webhook: \"http://127.0.0.1:{{claude}}/webhook\"}\n"
        try await LiveGateway.run(vendors: [claude], config: config) { gateway in
            var events = claude.events.makeAsyncIterator()
            claude.enqueue(.verbatim(body: CostTests.answer), .verbatim(body: CostTests.answer))
            for _ in 0..<2 { _ = try await gateway.post("/v1/chat/completions", json: Self.hi, key: "thrifty-key") }
            // $0.0353 ≥ 80% of $0.03 after the second answer: the webhook hears of it.
            while let event = await events.next(), event != .requestReceived(path: "/webhook") {}
            let hook = try #require(claude.hooks.first?.body)
            #expect(hook["type"] == "budget_threshold" && hook["key"] == "thrifty" && hook["budget_usd"] == .double(0.03))
            #expect(claude.hooks.count == 1)
        }
    }

    /// A restart does not reset a budget: spending is read back from the request log.
    @Test(arguments: StoreBackend.available)
    func budgetsSurviveARestart(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        try await LiveGateway.run(vendors: [claude], config: Self.config(storage: url)) { gateway in
            claude.enqueue(.verbatim(body: CostTests.answer), .verbatim(body: CostTests.answer))
            for _ in 0..<2 { _ = try await gateway.post("/v1/chat/completions", json: Self.hi, key: "thrifty-key") }
        }
        try await LiveGateway.run(vendors: [claude], config: Self.config(storage: url)) { gateway in
            let refused = try await gateway.post("/v1/chat/completions", json: Self.hi, key: "thrifty-key")
            #expect(refused.status == 429 && refused.headers.first(name: "x-should-retry") == "false")
        }
        #expect(claude.requestCount == 2)
        await remove()
    }
}
