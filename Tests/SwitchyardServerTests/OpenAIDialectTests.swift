import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardProviders
import SwitchyardCore
import SwitchyardSimulator
import Testing

/// Configs shared by the integration tests; `{{name}}` is the simulated vendor's port.
enum TestConfigs {
    /// One OpenAI-format vendor `a` without keys on the gateway, routed as `smart`; `provider` adds keys to
    /// `a`'s entry and `extra` adds top-level sections.
    static func singleVendor(provider: String = "", extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k]\(provider)}
        models:
          smart: a/gpt-4o
        \(extra)
        """
    }

    static func openAI(extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        max_body_size: 65536
        providers:
          oai:
            type: openai
            base_url: http://127.0.0.1:{{oai}}/v1
            keys: [sk-upstream-secret-1]
        models:
          smart: oai/gpt-4o
          embed: oai/text-embedding-3-small
        keys:
          - name: app
            key: test-key
          - name: limited
            key: limited-key
            models: [embed]
        \(extra)
        """
    }
}

@Suite("OpenAI dialect over real HTTP")
struct OpenAIDialectTests {
    let chat: JSONValue = ["model": "smart", "messages": [["role": "user", "content": "Hello there"]]]

    @Test func nonStreamedChatIsAnsweredWithGatewayHeaders() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "Hi! How can I help?"))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: chat, headers: ["x-request-id": "client-chosen-id"])
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-request-id") == "client-chosen-id")
            #expect(result.headers.first(name: "x-switchyard-target") == "oai/gpt-4o")
            #expect(result.headers.first(name: "x-switchyard-attempts") == "1")
            let json = try #require(result.json)
            #expect(json["object"] == "chat.completion")
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "Hi! How can I help?")
            #expect(json["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect((json["usage"]?["total_tokens"]?.intValue ?? 0) > 0)

            let upstream = try #require(vendor.requests.last)
            #expect(upstream.body?["model"] == "gpt-4o")
            #expect(upstream.headers["authorization"] == "Bearer sk-upstream-secret-1")
            #expect(!upstream.rawBody.contains("test-key"))
            #expect(!upstream.headers.values.contains { $0.contains("test-key") })
        }
    }

    @Test func streamForwardsChunksAsTheyArrive() async throws {
        let gate = SimulatorGate()
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "one two three", holdBeforeFinish: gate))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            var request = chat
            if case .object(var object) = request {
                object["stream"] = true
                object["stream_options"] = ["include_usage": true]
                request = .object(object)
            }
            let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: request)
            #expect(response.status.code == 200)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            #expect(response.headers.first(name: "x-switchyard-target") == "oai/gpt-4o")
            // The upstream is held before its finish: every content chunk must already be here.
            var texts: [String] = []
            let first = try #require(try await reader.next()?.json)
            #expect(first["choices"]?.arrayValue?.first?["delta"]?["role"] == "assistant")
            while texts.joined() != "one two three", let event = try await reader.next() {
                if let text = event.json?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue { texts.append(text) }
            }
            #expect(texts == ["one", " two", " three"])
            gate.open()
            let rest = try await reader.all()
            #expect(rest.last?.data == "[DONE]")
            let finish = rest.compactMap { $0.json?["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }
            #expect(finish == ["stop"])
            let usageChunk = try #require(rest.first { $0.json?["choices"]?.arrayValue?.isEmpty == true })
            #expect((usageChunk.json?["usage"]?["completion_tokens"]?.intValue ?? 0) == 3)
            // The gateway always asks the upstream for usage.
            #expect(vendor.requests.last?.body?["stream_options"]?["include_usage"] == true)
        }
    }

    @Test func streamWithoutIncludeUsageSendsNoUsage() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "short answer"))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let request: JSONValue = ["model": "smart", "stream": true, "messages": [["role": "user", "content": "hi"]]]
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: request)
            let events = try await reader.all()
            #expect(events.last?.data == "[DONE]")
            #expect(!events.contains { $0.data.contains("usage") })
        }
    }

    @Test func streamedLogprobsPassThroughToOpenAIClients() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "a b"))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let request: JSONValue = ["model": "smart", "stream": true, "logprobs": true, "messages": [["role": "user", "content": "hi"]]]
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: request)
            let chunks = try await reader.all().compactMap(\.json)
            let tokens = chunks.compactMap { $0["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue?.first?["token"]?.stringValue }
            #expect(tokens == ["a", " b"])
            #expect(vendor.requests.last?.body?["logprobs"] == true)
        }
    }

    @Test func toolCallRoundTrip() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        vendor.enqueue(.reply(SimulatedReply(text: "", toolCalls: [("get_weather", #"{"city": "Paris"}"#)])))
        vendor.enqueue(.reply(SimulatedReply(text: "It is 18°C and raining in Paris.")))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let tools: JSONValue = [
                [
                    "type": "function",
                    "function": ["name": "get_weather", "parameters": ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]]],
                ]
            ]
            let first = try await gateway.post(
                "/v1/chat/completions", json: ["model": "smart", "tools": tools, "messages": [["role": "user", "content": "Weather in Paris?"]]])
            #expect(first.status == 200)
            let message = try #require(first.json?["choices"]?.arrayValue?.first?["message"])
            #expect(first.json?["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
            let call = try #require(message["tool_calls"]?.arrayValue?.first)
            #expect(call["function"]?["name"] == "get_weather")
            #expect(call["function"]?["arguments"] == #"{"city": "Paris"}"#)
            let callID = try #require(call["id"]?.stringValue)

            let second = try await gateway.post(
                "/v1/chat/completions",
                json: [
                    "model": "smart", "tools": tools,
                    "messages": [
                        ["role": "user", "content": "Weather in Paris?"],
                        ["role": "assistant", "content": .null, "tool_calls": [call]],
                        ["role": "tool", "tool_call_id": .string(callID), "content": #"{"temp_c": 18}"#],
                    ],
                ])
            #expect(second.status == 200)
            #expect(second.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "It is 18°C and raining in Paris.")
            let upstreamMessages = try #require(vendor.requests.last?.body?["messages"]?.arrayValue)
            #expect(upstreamMessages.count == 3)
            #expect(upstreamMessages[2]["role"] == "tool")
            #expect(upstreamMessages[2]["tool_call_id"] == .string(callID))
            #expect(upstreamMessages[1]["tool_calls"]?.arrayValue?.first?["function"]?["name"] == "get_weather")
            #expect(vendor.requests.last?.body?["tools"]?.arrayValue?.count == 1)
        }
    }

    @Test func embeddingsAreServed() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let request = try Fixtures.json("openai/embeddings_request.json")
            guard case .object(var object) = request else { throw TestFailure("fixture is not an object") }
            object["model"] = "embed"
            let result = try await gateway.post("/v1/embeddings", json: .object(object), key: "limited-key")
            #expect(result.status == 200)
            let data = try #require(result.json?["data"]?.arrayValue)
            #expect(data.count == 1)
            #expect(data.first?["embedding"]?.arrayValue?.count == 3)
            #expect(result.json?["object"] == "list")
            #expect(vendor.requests.last?.path == "/v1/embeddings")
            #expect(vendor.requests.last?.body?["model"] == "text-embedding-3-small")
            #expect(vendor.requests.last?.body?["dimensions"] == 3)
        }
    }

    @Test func modelsAreFilteredByKey() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let all = try await gateway.send(.GET, "/v1/models", headers: ["authorization": "Bearer test-key"])
            let allIDs = all.json?["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(allIDs.contains("smart") && allIDs.contains("embed") && allIDs.contains("oai/gpt-4o"))
            let limited = try await gateway.send(.GET, "/v1/models", headers: ["x-api-key": "limited-key"])
            #expect(limited.json?["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["embed"])
            let denied = try await gateway.post("/v1/chat/completions", json: chat, key: "limited-key")
            #expect(denied.status == 403)
            #expect(vendor.requests.isEmpty)
        }
    }

    @Test func directTargetsWorkWhenTheKeyAllowsThem() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "oai/gpt-4o-mini", "messages": [["role": "user", "content": "hi"]]])
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "oai/gpt-4o-mini")
            #expect(vendor.requests.last?.body?["model"] == "gpt-4o-mini")
        }
    }
}
