import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

enum AnthropicConfigs {
    static let both = """
        listen: 127.0.0.1:0
        providers:
          claude:
            type: anthropic
            base_url: http://127.0.0.1:{{claude}}
            keys: [sk-ant-upstream-1]
            max_tokens: 777
          oai:
            type: openai
            base_url: http://127.0.0.1:{{oai}}/v1
            keys: [sk-upstream-oai]
        models:
          claude: claude/claude-sonnet-4-5
          gpt: oai/gpt-4o
          lenient-gpt:
            targets: [oai/gpt-4o]
            drop_unsupported_fields: true
          strict-claude:
            targets: [claude/claude-sonnet-4-5]
            anthropic_betas: [prompt-caching-2024-07-31]
        keys:
          - name: app
            key: test-key
        """
}

let weatherToolOpenAI: JSONValue = [
    ["type": "function", "function": ["name": "get_weather", "description": "Weather", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]]]]
]
let weatherToolAnthropic: JSONValue = [["name": "get_weather", "description": "Weather", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]]

@Suite("Anthropic both ways")
struct AnthropicTests {
    @Test func openAIClientWithToolsReachesClaude() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        claude.enqueue(.reply(SimulatedReply(text: "Let me check.", toolCalls: [("get_weather", #"{"city":"Paris"}"#)])))
        claude.enqueue(.reply(SimulatedReply(text: "18°C in Paris.")))
        try await LiveGateway.run(vendors: [claude, oai], config: AnthropicConfigs.both) { gateway in
            let first = try await gateway.post(
                "/v1/chat/completions",
                json: ["model": "claude", "tools": weatherToolOpenAI, "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Paris?"]]])
            #expect(first.status == 200)
            let choice = try #require(first.json?["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
            #expect(call["id"] == "toolu_sim0")
            #expect(try JSONParser.parse(call["function"]?["arguments"]?.stringValue ?? "") == ["city": "Paris"])

            let upstreamFirst = try #require(claude.requests.first)
            #expect(upstreamFirst.path == "/v1/messages")
            #expect(upstreamFirst.headers["x-api-key"] == "sk-ant-upstream-1")
            #expect(upstreamFirst.headers["anthropic-version"] == "2023-06-01")
            #expect(upstreamFirst.headers["authorization"] == nil)
            #expect(upstreamFirst.body?["system"] == "Be brief.")
            #expect(upstreamFirst.body?["max_tokens"] == 777)
            #expect(upstreamFirst.body?["tools"]?.arrayValue?.first?["input_schema"]?["type"] == "object")

            let second = try await gateway.post(
                "/v1/chat/completions",
                json: [
                    "model": "claude", "tools": weatherToolOpenAI,
                    "messages": [
                        ["role": "user", "content": "Paris?"],
                        ["role": "assistant", "content": "Let me check.", "tool_calls": [call]],
                        ["role": "tool", "tool_call_id": "toolu_sim0", "content": "18C"],
                    ],
                ])
            #expect(second.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "18°C in Paris.")
            let messages = try #require(claude.requests.last?.body?["messages"]?.arrayValue)
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"])
            #expect(messages[1]["content"]?.arrayValue?.last?["type"] == "tool_use")
            #expect(messages[1]["content"]?.arrayValue?.last?["id"] == "toolu_sim0")
            #expect(messages[2]["content"]?.arrayValue?.first?["type"] == "tool_result")
            #expect(messages[2]["content"]?.arrayValue?.first?["tool_use_id"] == "toolu_sim0")
            #expect(oai.requests.isEmpty)
        }
    }

    @Test func openAIStreamFromClaudeCarriesToolDeltasAndUsage() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        claude.enqueue(.reply(SimulatedReply(text: "Checking now", toolCalls: [("get_weather", #"{"city":"Rome"}"#)])))
        try await LiveGateway.run(vendors: [claude, SimulatedVendor(name: "oai", format: .openai)], config: AnthropicConfigs.both) { gateway in
            let (_, reader) = try await gateway.openStream(
                "/v1/chat/completions",
                json: ["model": "claude", "stream": true, "stream_options": ["include_usage": true], "tools": weatherToolOpenAI, "messages": [["role": "user", "content": "Rome?"]]])
            let events = try await reader.all()
            let chunks = events.compactMap(\.json)
            #expect(events.last?.data == "[DONE]")
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "Checking now")
            let toolDeltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first }
            #expect(toolDeltas.first?["index"] == 0)
            #expect(toolDeltas.first?["id"] == "toolu_sim0")
            #expect(toolDeltas.first?["function"]?["name"] == "get_weather")
            #expect(toolDeltas.dropFirst().allSatisfy { $0["id"] == nil && $0["index"] == 0 })
            let arguments = toolDeltas.compactMap { $0["function"]?["arguments"]?.stringValue }.joined()
            #expect(try JSONParser.parse(arguments) == ["city": "Rome"])
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])
            let usage = try #require(chunks.last?["usage"])
            #expect((usage["prompt_tokens"]?.intValue ?? 0) > 0)
            #expect(usage["completion_tokens"]?.intValue == 10)
        }
    }

    @Test func anthropicClientStreamsWithToolsFromAnOpenAIProvider() async throws {
        let oai = SimulatedVendor(name: "oai", format: .openai)
        oai.enqueue(.reply(SimulatedReply(text: "Let me look", toolCalls: [("get_weather", #"{"city":"Oslo"}"#)])))
        try await LiveGateway.run(vendors: [SimulatedVendor(name: "claude", format: .anthropic), oai], config: AnthropicConfigs.both) { gateway in
            let (response, reader) = try await gateway.openStream(
                "/v1/messages",
                json: ["model": "gpt", "max_tokens": 300, "stream": true, "tools": weatherToolAnthropic, "messages": [["role": "user", "content": "Oslo?"]]],
                key: nil, headers: ["x-api-key": "test-key", "anthropic-version": "2026-10-21"])
            #expect(response.status.code == 200)
            #expect(response.headers.first(name: "x-switchyard-target") == "oai/gpt-4o")
            let events = try await reader.all()
            #expect(events.map { $0.event ?? "" } == [
                "message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
            ])
            let json = events.compactMap(\.json)
            #expect(json.allSatisfy { $0["type"]?.stringValue == events[json.firstIndex(of: $0)!].event })
            #expect(json[0]["message"]?["role"] == "assistant")
            #expect(json[6]["content_block"]?["name"] == "get_weather")
            #expect(json[6]["index"] == 1)
            let arguments = json.compactMap { $0["delta"]?["partial_json"]?.stringValue }.joined()
            #expect(try JSONParser.parse(arguments) == ["city": "Oslo"])
            #expect(json[10]["delta"]?["stop_reason"] == "tool_use")
            #expect((json[10]["usage"]?["output_tokens"]?.intValue ?? 0) > 0)
            let upstream = try #require(oai.requests.last?.body)
            #expect(upstream["max_completion_tokens"] == 300)
            #expect(upstream["tools"]?.arrayValue?.first?["function"]?["name"] == "get_weather")
            #expect(upstream["stream_options"]?["include_usage"] == true)
        }
    }

    @Test func anthropicClientNonStreamedAndToolResultTurn() async throws {
        let oai = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "Sunny."))
        try await LiveGateway.run(vendors: [SimulatedVendor(name: "claude", format: .anthropic), oai], config: AnthropicConfigs.both) { gateway in
            let result = try await gateway.post(
                "/v1/messages",
                json: [
                    "model": "gpt", "max_tokens": 100, "tools": weatherToolAnthropic,
                    "messages": [
                        ["role": "user", "content": "Oslo?"],
                        ["role": "assistant", "content": [["type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": ["city": "Oslo"]]]],
                        ["role": "user", "content": [["type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"], ["type": "text", "text": "And?"]]],
                    ],
                ])
            #expect(result.status == 200)
            #expect(result.json?["type"] == "message")
            #expect(result.json?["content"]?.arrayValue?.first?["text"] == "Sunny.")
            #expect(result.json?["stop_reason"] == "end_turn")
            #expect((result.json?["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
            let messages = try #require(oai.requests.last?.body?["messages"]?.arrayValue)
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool", "user"])
            #expect(messages[2]["tool_call_id"] == "toolu_1")
            #expect(messages[3]["content"] == "And?")
        }
    }

    @Test func anthropicDialectErrorsUseTheAnthropicShape() async throws {
        try await LiveGateway.run(vendors: [SimulatedVendor(name: "claude", format: .anthropic), SimulatedVendor(name: "oai", format: .openai)], config: AnthropicConfigs.both) { gateway in
            let unauthenticated = try await gateway.send(.POST, "/v1/messages", body: #"{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated.json?["type"] == "error")
            #expect(unauthenticated.json?["error"]?["type"] == "authentication_error")
            let unknown = try await gateway.send(.POST, "/v1/messages", body: #"{"model":"ghost","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#, headers: ["x-api-key": "test-key"])
            #expect(unknown.status == 404)
            #expect(unknown.json?["error"]?["type"] == "not_found_error")
            let invalid = try await gateway.send(.POST, "/v1/messages", body: #"{"model":"claude","max_tokens":5,"messages":[{"role":"bot","content":"x"}]}"#, headers: ["x-api-key": "test-key"])
            #expect(invalid.status == 400)
            #expect(invalid.json?["error"]?["type"] == "invalid_request_error")
            #expect(invalid.json?["error"]?["message"]?.stringValue?.contains("messages[0].role") == true)
            // Anthropic-only fields cannot silently vanish on the way to another vendor.
            let thinking = try await gateway.send(
                .POST, "/v1/messages", body: #"{"model":"gpt","max_tokens":5,"mcp_servers":[{"type":"url","url":"https://mcp.example","name":"x"}],"messages":[{"role":"user","content":"x"}]}"#,
                headers: ["x-api-key": "test-key"])
            #expect(thinking.status == 400)
            #expect(thinking.json?["error"]?["message"]?.stringValue?.contains("mcp_servers") == true)
            // … unless the route opts into dropping them.
            let lenient = try await gateway.send(
                .POST, "/v1/messages", body: #"{"model":"lenient-gpt","max_tokens":5,"mcp_servers":[{"type":"url","url":"https://mcp.example","name":"x"}],"messages":[{"role":"user","content":"x"}]}"#,
                headers: ["x-api-key": "test-key"])
            #expect(lenient.status == 200)
        }
    }

    @Test func anthropicToAnthropicPassesUnknownFieldsAndBetaHeaders() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        try await LiveGateway.run(vendors: [claude, SimulatedVendor(name: "oai", format: .openai)], config: AnthropicConfigs.both) { gateway in
            let body: JSONValue = [
                "model": "claude", "max_tokens": 64, "thinking": ["type": "enabled", "budget_tokens": 1024],
                "system": [["type": "text", "text": "Cached system", "cache_control": ["type": "ephemeral"]]],
                "messages": [["role": "user", "content": [["type": "text", "text": "hi", "cache_control": ["type": "ephemeral"]]]]],
            ]
            let result = try await gateway.post("/v1/messages", json: body, key: nil, headers: ["x-api-key": "test-key", "anthropic-beta": "prompt-caching-2024-07-31"])
            #expect(result.status == 200)
            let upstream = try #require(claude.requests.last)
            #expect(upstream.headers["anthropic-beta"] == "prompt-caching-2024-07-31")
            #expect(upstream.body?["thinking"] == body["thinking"])
            #expect(upstream.body?["system"] == body["system"])
            #expect(upstream.body?["messages"] == body["messages"])
            #expect(upstream.body?["model"] == "claude-sonnet-4-5")
            #expect(upstream.headers["x-api-key"] == "sk-ant-upstream-1")

            // A route with an allow list passes only the betas it names.
            var strict = body
            if case .object(var object) = strict {
                object["model"] = "strict-claude"
                strict = .object(object)
            }
            _ = try await gateway.post(
                "/v1/messages", json: strict, key: nil,
                headers: ["x-api-key": "test-key", "anthropic-beta": "prompt-caching-2024-07-31,computer-use-2025-01-24"])
            #expect(claude.requests.last?.headers["anthropic-beta"] == "prompt-caching-2024-07-31")
        }
    }
}
