import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import SwitchyardServer
import Testing

/// Cost from the usage the provider reported, on every answer; the cost strategy picks the cheapest.
@Suite("Cost")
struct CostTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
          oai: {type: openai, base_url: "http://127.0.0.1:{{oai}}/v1", keys: [sk-openai-key-123456]}
          local: {type: openai-compatible, base_url: "http://127.0.0.1:{{oai}}/v1"}
        pricing:
          oai/gpt-4o-mini: {input: 0.20, output: 0.80, cached_input: 0.10}
        models:
          claude: claude/claude-sonnet-4-5
          mini: oai/gpt-4o-mini
          unpriced: local/my-finetune
          cheapest:
            strategy: cost
            targets: [local/my-finetune, claude/claude-sonnet-4-5, oai/gpt-4o, oai/gpt-4o-mini]
        keys:
          - name: app
            key: test-key
        """

    static let answer = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":1024,"cache_read_input_tokens":0,"output_tokens":503}}"#

    @Test func everyNonStreamedAnswerSaysWhatItCost() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config) { gateway in
            claude.enqueue(.verbatim(body: Self.answer))
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": "hi"]]])
            #expect(result.headers.first(name: "x-switchyard-cost") == "0.01767")  // 2,095×3 + 1,024×3.75 + 503×15 µ$
            // /metrics counts the same tokens and cost for the target.
            let metrics = try await gateway.send(.GET, "/metrics").body
            let target = #"target="claude/claude-sonnet-4-5""#
            #expect(metricSum(metrics, name: "switchyard_tokens_total", where: target + #",kind="prompt""#) == 3119
                || metricSum(metrics, name: "switchyard_tokens_total", where: #"kind="prompt",\#(target)"#) == 3119)
            #expect(metricSum(metrics, name: "switchyard_tokens_total", where: "completion") == 503)
            #expect(abs(metricSum(metrics, name: "switchyard_cost_usd_total", where: target) - 0.01767) < 1e-9)
            #expect(metrics.contains("switchyard_time_to_first_byte_seconds"))
            #expect(abs(metricSum(metrics, name: "switchyard_route_cost_usd_total", where: #"route="claude""#) - 0.01767) < 1e-9)
            #expect(metricSum(metrics, name: "switchyard_route_tokens_total", where: "completion") == 503)

            // The config's price wins over the catalog: prompt and completion as the simulator reports them.
            let mini = try await gateway.post("/v1/chat/completions", json: ["model": "mini", "messages": [["role": "user", "content": "hi"]]])
            let usage = try #require(mini.json?["usage"])
            let expected = (Double(usage["prompt_tokens"]?.intValue ?? 0) * 0.20 + Double(usage["completion_tokens"]?.intValue ?? 0) * 0.80) / 1_000_000
            #expect(mini.headers.first(name: "x-switchyard-cost") == expected.usdDecimal)

            // A model without a price: no header, never a zero.
            let unpriced = try await gateway.post("/v1/chat/completions", json: ["model": "unpriced", "messages": [["role": "user", "content": "hi"]]])
            #expect(unpriced.status == 200)
            #expect(unpriced.headers.first(name: "x-switchyard-cost") == nil)
        }
    }

    /// A streamed answer is priced from the usage its stream reported (412 in, 58 out: 412×3 + 58×15 µ$),
    /// in both dialects: pass-through (Anthropic client) and translated (OpenAI client).
    @Test func streamsArePricedFromTheirReportedUsage() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let stream = try Fixtures.text("anthropic/stream_text_tool_use.sse")
        try await LiveGateway.run(vendors: [claude, SimulatedVendor(name: "oai", format: .openai)], config: Self.config.replacingOccurrences(of: "models:", with: "storage: \"sqlite::memory:\"\nmodels:")) { gateway in
            for (path, body) in [
                ("/v1/messages", ["model": "claude", "max_tokens": 100, "stream": true, "messages": [["role": "user", "content": "hi"]]] as JSONValue),
                ("/v1/chat/completions", ["model": "claude", "stream": true, "messages": [["role": "user", "content": "hi"]]] as JSONValue),
            ] {
                claude.enqueue(.verbatim(contentType: "text/event-stream", body: stream))
                let (_, reader) = try await gateway.openStream(path, json: body, key: "test-key")
                _ = try await reader.all()
            }
            await gateway.gateway.requestLog?.waitUntilRecorded(2)
            await gateway.gateway.requestLog?.flush()
            let entries = try #require(try await gateway.gateway.requestLog?.store.requests(RequestQuery()))
            #expect(entries.count == 2)
            #expect(entries.allSatisfy { $0.stream && $0.usage == Usage(promptTokens: 412, completionTokens: 58) && $0.cost.map { abs($0 - 0.002106) < 1e-12 } == true })
        }
    }

    /// Cheapest priced target first (gpt-4o-mini at its configured price), unpriced last.
    @Test func theCostStrategyTriesTheCheapestFirst() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config) { gateway in
            let first = try await gateway.post("/v1/chat/completions", json: ["model": "cheapest", "messages": [["role": "user", "content": "hi"]]])
            #expect(first.headers.first(name: "x-switchyard-target") == "oai/gpt-4o-mini")
            // When it fails, the next cheapest answers (gpt-4o, then Claude), and the unpriced one comes last.
            let failure: SimulatorScenario = .error(status: 503, body: ["error": ["message": "down", "type": "server_error", "param": .null, "code": .null]])
            oai.enqueue(failure)
            let second = try await gateway.post("/v1/chat/completions", json: ["model": "cheapest", "messages": [["role": "user", "content": "hi"]]])
            #expect(second.headers.first(name: "x-switchyard-target") == "oai/gpt-4o")
        }
    }
}
