import Foundation
import NIOHTTP1
import SwitchyardCore
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("Targets that cannot serve a request are skipped before sending")
struct CapabilityTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k]}
          c: {type: anthropic, base_url: "http://127.0.0.1:{{c}}", keys: [k]}
        models:
          claude-first: {targets: [c/claude-sonnet-4-5, a/gpt-4o]}
          openai-first: {targets: [a/gpt-4o, c/claude-sonnet-4-5]}
          only-claude: c/claude-sonnet-4-5
          only-openai: a/gpt-4o
          capped: {targets: [a/gpt-4o], max_tokens: 77}
        routing: {circuit_breaker: {failures: 1, cooldown: 30s}}
        """

    @Test func embeddingsSkipTargetsWithoutThemAndCountNothingAgainstThem() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config) { gateway in
            let result = try await gateway.post("/v1/embeddings", json: ["model": "claude-first", "input": "hello"], key: nil)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            #expect(result.headers.first(name: "x-switchyard-attempts") == "1")
            let claude = try #require(gateway.gateway.table.allTargets.first { $0.name == "c/claude-sonnet-4-5" })
            #expect(claude.counts.failures == 0 && claude.breakerState == .closed)
            let refused = try await gateway.post("/v1/embeddings", json: ["model": "only-claude", "input": "hello"], key: nil)
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("does not offer embeddings") == true)
            #expect(c.requestCount == 0)
        }
    }

    @Test func dialectOnlyFieldsSkipTargetsOfOtherVendors() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config) { gateway in
            // `top_k` exists in the Anthropic API only: OpenAI is skipped, Claude answers.
            let body: JSONValue = ["model": "openai-first", "max_tokens": 10, "top_k": 5, "messages": [["role": "user", "content": "x"]]]
            let result = try await gateway.post("/v1/messages", json: body, key: nil)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "c/claude-sonnet-4-5")
            let openAI = try #require(gateway.gateway.table.allTargets.first { $0.name == "a/gpt-4o" })
            #expect(openAI.counts.failures == 0 && openAI.breakerState == .closed)
            let refused = try await gateway.post("/v1/messages", json: body.with(model: "only-openai"), key: nil)
            #expect(refused.status == 400)
            #expect(refused.json?["type"] == "error")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("top_k") == true)
            #expect(a.requestCount == 0)
        }
    }

    @Test func routeDefaultsApplyToOpenAIPassThroughToo() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config) { gateway in
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "capped", "messages": [["role": "user", "content": "x"]]], key: nil)
            #expect(a.requests.last?.body?["max_completion_tokens"] == 77)
            _ = try await gateway.post(
                "/v1/chat/completions", json: ["model": "capped", "max_tokens": 5, "messages": [["role": "user", "content": "x"]]], key: nil)
            #expect(a.requests.last?.body?["max_tokens"] == 5)
            #expect(a.requests.last?.body?["max_completion_tokens"] == nil)
        }
    }
}
