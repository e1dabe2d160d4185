import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Across dialects, case by case over real HTTP: what the client sent and what the vendor received, what the
/// vendor answered and what the client received. Nothing fused, dropped or broadened.
@Suite("Across dialects: boundaries and meaning kept")
struct CrossDialectFidelityTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
          oai: {type: openai, base_url: "http://127.0.0.1:{{oai}}/v1", keys: [sk-openai-key-123456]}
          compat: {type: openai-compatible, base_url: "http://127.0.0.1:{{oai}}/v1"}
        models:
          claude: claude/claude-sonnet-4-5
          gpt: oai/gpt-4o
          compat: compat/llama
        routing: {attempts: 2, backoff: {base: 1ms, max: 2ms}}
        keys:
          - name: app
            key: test-key
        """

    static func run(_ test: @escaping @Sendable (LiveGateway.Context, SimulatedVendor, SimulatedVendor) async throws -> Void) async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: config) { gateway in try await test(gateway, claude, oai) }
    }

    static func messages(_ body: JSONValue, _ gateway: LiveGateway.Context) async throws -> HTTPResult {
        try await gateway.post("/v1/messages", json: body, key: nil, headers: ["x-api-key": "test-key"])
    }

    static let weatherTools: JSONValue = [["name": "get_weather", "input_schema": ["type": "object"]]]

    // MARK: boundaries

    @Test func anthropicBlocksStayBlocksAtOpenAI() async throws {
        try await Self.run { gateway, _, oai in
            let result = try await Self.messages(
                [
                    "model": "gpt", "max_tokens": 100, "tools": Self.weatherTools,
                    "system": [["type": "text", "text": "S-a"], ["type": "text", "text": "S-b"]],
                    "messages": [
                        ["role": "user", "content": [["type": "text", "text": "Long doc"], ["type": "text", "text": "Q?"]]],
                        ["role": "assistant", "content": [["type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": ["city": "Paris"]]]],
                        [
                            "role": "user",
                            "content": [
                                ["type": "tool_result", "tool_use_id": "toolu_1", "content": [["type": "text", "text": "Sunny"], ["type": "text", "text": "22C"]]]
                            ],
                        ],
                    ],
                ], gateway)
            #expect(result.status == 200)
            let sent = try #require(oai.requests.last?.body?["messages"]?.arrayValue)
            #expect(sent[0] == ["role": "system", "content": [["type": "text", "text": "S-a"], ["type": "text", "text": "S-b"]]])
            #expect(sent[1]["content"] == [["type": "text", "text": "Long doc"], ["type": "text", "text": "Q?"]])
            #expect(sent[3]["content"] == [["type": "text", "text": "Sunny"], ["type": "text", "text": "22C"]])
        }
    }

    @Test func openAIPartsStayBlocksAtAnthropic() async throws {
        try await Self.run { gateway, claude, _ in
            let result = try await gateway.post(
                "/v1/chat/completions",
                json: [
                    "model": "claude",
                    "tools": [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]],
                    "messages": [
                        ["role": "system", "content": [["type": "text", "text": "S-a"], ["type": "text", "text": "S-b"]]],
                        ["role": "user", "content": "Weather?"],
                        ["role": "assistant", "content": .null, "tool_calls": [["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": "{}"]]]],
                        ["role": "tool", "tool_call_id": "call_1", "content": [["type": "text", "text": "Sunny"], ["type": "text", "text": "22C"]]],
                    ],
                ])
            #expect(result.status == 200)
            let sent = try #require(claude.requests.last?.body)
            #expect(sent["system"] == [["type": "text", "text": "S-a"], ["type": "text", "text": "S-b"]])
            #expect(sent["messages"]?[2]?["content"]?[0]?["content"] == [["type": "text", "text": "Sunny"], ["type": "text", "text": "22C"]])
        }
    }

    @Test func aToolErrorIsCarriedToOpenAI() async throws {
        try await Self.run { gateway, _, oai in
            _ = try await Self.messages(
                [
                    "model": "gpt", "max_tokens": 100, "tools": Self.weatherTools,
                    "messages": [
                        ["role": "user", "content": "Weather?"],
                        ["role": "assistant", "content": [["type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": [:]]]],
                        ["role": "user", "content": [["type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": "city missing"]]],
                    ],
                ], gateway)
            #expect(oai.requests.last?.body?["messages"]?[2]?["content"] == "Error: city missing")
        }
    }

    // MARK: tool choice

    @Test func toolChoiceMeansTheSameAtAnthropic() async throws {
        try await Self.run { gateway, claude, _ in
            let tools: JSONValue = [
                ["type": "function", "function": ["name": "a", "parameters": ["type": "object"]]],
                ["type": "function", "function": ["name": "b", "parameters": ["type": "object"]]],
            ]
            let hi: JSONValue = [["role": "user", "content": "hi"]]
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "tools": tools, "tool_choice": "none", "messages": hi])
            #expect(claude.requests.last?.body?["tools"]?.arrayValue?.count == 2)
            #expect(claude.requests.last?.body?["tool_choice"] == ["type": "none"])

            _ = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "tools": tools, "parallel_tool_calls": false, "messages": hi])
            #expect(claude.requests.last?.body?["tool_choice"] == ["type": "auto", "disable_parallel_tool_use": true])

            let allowed: JSONValue = ["type": "allowed_tools", "allowed_tools": ["mode": "required", "tools": [["type": "function", "function": ["name": "b"]]]]]
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "tools": tools, "tool_choice": allowed, "messages": hi])
            #expect(claude.requests.last?.body?["tools"]?.arrayValue?.map { $0["name"] } == ["b"])
            #expect(claude.requests.last?.body?["tool_choice"] == ["type": "any"])

            let unknown: JSONValue = ["type": "allowed_tools", "allowed_tools": ["mode": "auto", "tools": [["type": "function", "function": ["name": "zzz"]]]]]
            let refused = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "tools": tools, "tool_choice": unknown, "messages": hi])
            #expect(refused.status == 400)
            #expect(claude.requestCount == 3)
        }
    }

    // MARK: refusals

    static let refusalAnswer = #"{"id":"chatcmpl-r1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}"#

    static let refusalStream = [
        #"{"id":"chatcmpl-r2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-r2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":"I can't"},"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-r2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":" help."},"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-r2","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
    ].map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"

    @Test func refusalsStayRefusals() async throws {
        try await Self.run { gateway, _, oai in
            let ask: JSONValue = ["model": "gpt", "max_tokens": 100, "messages": [["role": "user", "content": "bad"]]]
            oai.enqueue(.verbatim(body: Self.refusalAnswer))
            let complete = try await Self.messages(ask, gateway)
            #expect(complete.json?["content"] == [["type": "text", "text": "I can't help with that."]])
            #expect(complete.json?["stop_reason"] == "refusal")

            oai.enqueue(.verbatim(contentType: "text/event-stream", body: Self.refusalStream))
            var streamed = ask.objectValue!
            streamed["stream"] = true
            let (_, reader) = try await gateway.openStream("/v1/messages", json: .object(streamed), key: nil, headers: ["x-api-key": "test-key"])
            let events = try await reader.all()
            #expect(events.compactMap { $0.json?["delta"]?["text"]?.stringValue }.joined() == "I can't help.")
            #expect(events.first { $0.event == "message_delta" }?.json?["delta"]?["stop_reason"] == "refusal")

            // An OpenAI client of a normalised (compatible) upstream gets the refusal as a refusal, not content.
            oai.enqueue(.verbatim(contentType: "text/event-stream", body: Self.refusalStream))
            let (_, openAIReader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "compat", "stream": true, "messages": [["role": "user", "content": "bad"]]])
            let chunks = try await openAIReader.all()
            #expect(chunks.compactMap { $0.json?["choices"]?[0]?["delta"]?["refusal"]?.stringValue }.joined() == "I can't help.")
            #expect(chunks.allSatisfy { $0.json?["choices"]?[0]?["delta"]?["content"]?.stringValue?.isEmpty ?? true })
        }
    }

    // MARK: stop reasons and usage

    static let stopSequenceAnswer = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"one two"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":10,"cache_creation_input_tokens":7,"cache_read_input_tokens":3,"output_tokens":2}}"#

    @Test func stopSequencesAndCacheWritesReachOpenAIClients() async throws {
        try await Self.run { gateway, claude, _ in
            claude.enqueue(.verbatim(body: Self.stopSequenceAnswer))
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "stop": ["END"], "messages": [["role": "user", "content": "count"]]])
            #expect(result.json?["choices"]?[0]?["finish_reason"] == "stop")
            #expect(result.json?["usage"]?["prompt_tokens"] == 20)
            #expect(result.json?["usage"]?["prompt_tokens_details"] == ["cached_tokens": 3, "cache_write_tokens": 7])
        }
    }

    // MARK: errors in each SDK's terms

    @Test func anthropicClientsGetOverloadsAs529AndRefusedCredentialsAsAPIErrors() async throws {
        try await Self.run { gateway, _, oai in
            let ask: JSONValue = ["model": "gpt", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]]]
            let overloaded: SimulatorScenario = .error(status: 503, body: ["error": ["message": "busy", "type": "server_error", "param": .null, "code": .null]])
            oai.enqueue(overloaded, overloaded)
            let busy = try await Self.messages(ask, gateway)
            #expect(busy.status == 529)
            #expect(busy.json?["error"]?["type"] == "overloaded_error")

            oai.failEvery(1, with: .error(status: 401, body: ["error": ["message": "Incorrect API key provided", "type": "invalid_request_error", "param": .null, "code": "invalid_api_key"]]))
            let refused = try await Self.messages(ask, gateway)
            #expect(refused.status == 503)
            #expect(refused.json?["error"]?["type"] == "api_error")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("refused the gateway's credentials") == true)
        }
    }
}
