import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Reasoning and the vendors' opaque signatures, end to end: shown to clients in their dialect, sent back
/// to the vendor family that signed them, never to another.
@Suite("Reasoning and thought signatures")
struct ReasoningTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          gem: {type: gemini, base_url: "http://127.0.0.1:{{gem}}", keys: [gemini-key]}
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant]}
        models:
          gemini3: gem/gemini-3-pro-preview
          claude: claude/claude-sonnet-4-5
        keys:
          - name: app
            key: test-key
        """

    static let weatherTool: JSONValue = [
        ["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]]]]
    ]

    static func vendors(reasoning: String? = nil) -> [SimulatedVendor] {
        let call = [(name: "get_weather", arguments: #"{"city":"Paris"}"#)]
        return [
            SimulatedVendor(name: "gem", format: .gemini, defaultReply: SimulatedReply(text: "", toolCalls: call, reasoning: reasoning)),
            SimulatedVendor(name: "claude", format: .anthropic, defaultReply: SimulatedReply(text: "It rains.", reasoning: reasoning)),
        ]
    }

    /// Gemini 3 refuses a replayed call without its signature: the conversation only continues because the
    /// signature rode in the call id the OpenAI client got, and went back on the same part.
    @Test func geminiSignaturesRoundTripThroughAnOpenAIClient() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let first = try await gateway.post(
                "/v1/chat/completions", json: ["model": "gemini3", "tools": Self.weatherTool, "messages": [["role": "user", "content": "Paris?"]]])
            let call = try #require(first.json?["choices"]?[0]?["message"]?["tool_calls"]?[0])
            let id = try #require(call["id"]?.stringValue)
            #expect(id.hasSuffix("__thought__gemini~sim-gemini-signature-0"))
            let second = try await gateway.post(
                "/v1/chat/completions",
                json: [
                    "model": "gemini3", "tools": Self.weatherTool,
                    "messages": [
                        ["role": "user", "content": "Paris?"], ["role": "assistant", "content": .null, "tool_calls": [call]],
                        ["role": "tool", "tool_call_id": .string(id), "content": #"{"temp_c":18}"#],
                    ],
                ])
            #expect(second.status == 200)
            let sent = try #require(vendors[0].requests.last?.body?["contents"]?.arrayValue)
            #expect(sent[1]["parts"]?[0]?["thoughtSignature"] == "sim-gemini-signature-0")
            #expect(sent[2]["parts"]?[0]?["functionResponse"] == ["name": "get_weather", "response": ["temp_c": 18]])
        }
    }

    @Test func geminiSignaturesRoundTripThroughAnAnthropicClientStreaming() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let tools: JSONValue = [["name": "get_weather", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]]
            let (_, reader) = try await gateway.openStream(
                "/v1/messages", json: ["model": "gemini3", "max_tokens": 100, "stream": true, "tools": tools, "messages": [["role": "user", "content": "Paris?"]]])
            let events = try await reader.all()
            let block = try #require(events.first { $0.json?["content_block"]?["type"] == "tool_use" }?.json?["content_block"])
            let id = try #require(block["id"]?.stringValue)
            #expect(id.contains("__thought__gemini~"))
            let second = try await gateway.post(
                "/v1/messages",
                json: [
                    "model": "gemini3", "max_tokens": 100, "tools": tools,
                    "messages": [
                        ["role": "user", "content": "Paris?"],
                        ["role": "assistant", "content": [["type": "tool_use", "id": .string(id), "name": "get_weather", "input": ["city": "Paris"]]]],
                        ["role": "user", "content": [["type": "tool_result", "tool_use_id": .string(id), "content": "18 degrees"]]],
                    ],
                ], headers: ["x-api-key": "test-key"])
            #expect(second.status == 200)
            let sent = try #require(vendors[0].requests.last?.body?["contents"]?.arrayValue)
            #expect(sent[1]["parts"]?[0]?["thoughtSignature"] == "sim-gemini-signature-0")
            #expect(sent[2]["parts"]?[0]?["functionResponse"]?["response"] == ["result": "18 degrees"])
        }
    }

    /// A conversation that began on Gemini and fails over to Claude: Gemini's signatures stay behind.
    @Test func geminiSignaturesNeverReachClaude() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let id = "call_abc__thought__gemini~c2lnbmF0dXJl+/="
            let result = try await gateway.post(
                "/v1/chat/completions",
                json: [
                    "model": "claude", "tools": Self.weatherTool,
                    "messages": [
                        ["role": "user", "content": "Paris?"],
                        ["role": "assistant", "content": .null, "tool_calls": [["id": .string(id), "type": "function", "function": ["name": "get_weather", "arguments": "{}"]]]],
                        ["role": "tool", "tool_call_id": .string(id), "content": "18"],
                    ],
                ])
            #expect(result.status == 200)
            let sent = try #require(vendors[1].requests.last?.rawBody)
            #expect(!sent.contains("thought") && !sent.contains("c2lnbmF0dXJl"))
            let body = try #require(vendors[1].requests.last?.body)
            #expect(body["messages"]?[1]?["content"]?[0]?["id"] == "call_abc")
            #expect(body["messages"]?[2]?["content"]?[0]?["tool_use_id"] == "call_abc")
        }
    }

    /// OpenAI clients see Claude's thinking as `reasoning_content` with signed `thinking_blocks`, ask for it
    /// with `reasoning_effort`, and hand the blocks back to Claude, which gets them verbatim.
    @Test func claudeThinkingThroughTheOpenAIDialect() async throws {
        let vendors = Self.vendors(reasoning: "The user asks about Paris.")
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let request: JSONValue = ["model": "claude", "reasoning_effort": "low", "messages": [["role": "user", "content": "Paris?"]]]
            let result = try await gateway.post("/v1/chat/completions", json: request)
            let message = try #require(result.json?["choices"]?[0]?["message"])
            #expect(message["reasoning_content"] == "The user asks about Paris.")
            #expect(message["thinking_blocks"]?[0]?["signature"] == "sim-claude-signature")
            #expect(message["content"] == "It rains.")
            #expect(vendors[1].requests.last?.body?["thinking"] == ["type": "enabled", "budget_tokens": 2048])

            var streamed = request.objectValue!
            streamed["stream"] = true
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: .object(streamed))
            let chunks = try await reader.all()
            #expect(chunks.compactMap { $0.json?["choices"]?[0]?["delta"]?["reasoning_content"]?.stringValue }.joined() == "The user asks about Paris.")
            #expect(chunks.contains { $0.json?["choices"]?[0]?["delta"]?["thinking_blocks"]?[0]?["signature"] == "sim-claude-signature" })

            let followUp = try await gateway.post(
                "/v1/chat/completions",
                json: [
                    "model": "claude", "reasoning_effort": "low",
                    "messages": [["role": "user", "content": "Paris?"], message, ["role": "user", "content": "And Rome?"]],
                ])
            #expect(followUp.status == 200)
            let replayed = vendors[1].requests.last?.body?["messages"]?[1]?["content"]?[0]
            #expect(replayed == ["type": "thinking", "thinking": "The user asks about Paris.", "signature": "sim-claude-signature"])
        }
    }

    /// Anthropic clients ask Gemini to think with `thinking` and see its thoughts as thinking blocks,
    /// streamed as thinking deltas: the reasoning commits the stream like text.
    @Test func geminiThoughtsThroughTheAnthropicDialect() async throws {
        let vendors = [SimulatedVendor(name: "gem", format: .gemini, defaultReply: SimulatedReply(text: "Rainy.", reasoning: "Looking at the sky")), SimulatedVendor(name: "claude", format: .anthropic)]
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let (_, reader) = try await gateway.openStream(
                "/v1/messages",
                json: [
                    "model": "gem/gemini-2.5-pro", "max_tokens": 4000, "stream": true, "thinking": ["type": "enabled", "budget_tokens": 2000],
                    "messages": [["role": "user", "content": "Paris?"]],
                ])
            let events = try await reader.all()
            #expect(events.first { $0.json?["content_block"]?["type"] == "thinking" } != nil)
            #expect(events.compactMap { $0.json?["delta"]?["thinking"]?.stringValue }.joined() == "Looking at the sky")
            #expect(events.compactMap { $0.json?["delta"]?["text"]?.stringValue }.joined() == "Rainy.")
            #expect(vendors[0].requests.last?.body?["generationConfig"]?["thinkingConfig"] == ["thinkingBudget": 2000, "includeThoughts": true])
        }
    }
}
