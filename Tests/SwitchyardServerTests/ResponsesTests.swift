import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("OpenAI Responses API")
struct ResponsesTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          claude:
            type: anthropic
            base_url: http://127.0.0.1:{{claude}}
            keys: [sk-ant-upstream]
          oai:
            type: openai-compatible
            base_url: http://127.0.0.1:{{oai}}/v1
            keys: [sk-upstream-oai]
          native:
            type: openai
            base_url: http://127.0.0.1:{{oai}}/v1
            keys: [sk-upstream-native]
        models:
          claude: claude/claude-sonnet-4-5
          gpt: oai/gpt-4o
          openai: native/gpt-4o
        keys:
          - name: app
            key: test-key
          - name: other
            key: other-key
        """

    static let weatherTool: JSONValue = [
        "type": "function", "name": "get_weather", "description": "Weather", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]],
    ]

    static func vendors(claudeReasoning: String? = nil) -> [SimulatedVendor] {
        [
            SimulatedVendor(name: "claude", format: .anthropic, defaultReply: SimulatedReply(text: "It rains in Paris.", reasoning: claudeReasoning)),
            SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "Sunny in Rome.")),
        ]
    }

    @Test func textAnswerTranslatedToAnthropic() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let result = try await gateway.post(
                "/v1/responses",
                json: [
                    "model": "claude", "instructions": "Be brief.", "max_output_tokens": 300, "temperature": .double(0.5), "metadata": ["app": "test"],
                    "input": [["role": "user", "content": [["type": "input_text", "text": "Part one."], ["type": "input_text", "text": "Paris?"]]]],
                ])
            #expect(result.status == 200)
            let response = try #require(result.json)
            #expect(response["object"] == "response" && response["status"] == "completed")
            #expect(response["id"]?.stringValue?.hasPrefix("resp_") == true)
            #expect(response["instructions"] == "Be brief." && response["max_output_tokens"] == 300 && response["metadata"] == ["app": "test"])
            let message = try #require(response["output"]?[0])
            #expect(message["type"] == "message" && message["role"] == "assistant")
            #expect(message["content"]?[0]?["type"] == "output_text" && message["content"]?[0]?["text"] == "It rains in Paris.")
            #expect((response["usage"]?["input_tokens"]?.intValue ?? 0) > 0 && (response["usage"]?["output_tokens"]?.intValue ?? 0) > 0)
            #expect(response["usage"]?["total_tokens"]?.intValue == (response["usage"]?["input_tokens"]?.intValue ?? 0) + (response["usage"]?["output_tokens"]?.intValue ?? 0))
            #expect(result.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")

            let upstream = try #require(vendors[0].requests.last?.body)
            #expect(upstream["system"] == "Be brief." && upstream["max_tokens"] == 300 && upstream["temperature"] == .double(0.5))
            // Input blocks stay blocks.
            #expect(upstream["messages"]?[0]?["content"]?.arrayValue?.count == 2)
        }
    }

    /// The typed events arrive in the order the SDK's helper assembles, numbered without gaps, and the final
    /// `response.completed` holds what the deltas said.
    @Test func streamEventsInOrder() async throws {
        let vendors = Self.vendors()
        vendors[1].enqueue(.reply(SimulatedReply(text: "Let me look.", toolCalls: [("get_weather", #"{"city":"Rome"}"#)])))
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let (head, reader) = try await gateway.openStream(
                "/v1/responses", json: ["model": "gpt", "stream": true, "input": "Rome?", "tools": [Self.weatherTool]])
            #expect(head.status == .ok)
            let events = try await reader.all()
            #expect(events.map { $0.json?["sequence_number"]?.intValue } == events.indices.map { $0 })
            #expect(events.allSatisfy { $0.event == $0.json?["type"]?.stringValue })
            // Repeated deltas collapsed: the shape of the stream.
            let shape = events.compactMap(\.event).reduce(into: [String]()) { shape, name in if shape.last != name || !name.hasSuffix(".delta") { shape.append(name) } }
            #expect(
                shape == [
                    "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                    "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                    "response.output_item.done", "response.output_item.added", "response.function_call_arguments.delta",
                    "response.function_call_arguments.done", "response.output_item.done", "response.completed",
                ])
            let deltas = events.filter { $0.event == "response.output_text.delta" }.compactMap { $0.json?["delta"]?.stringValue }.joined()
            let final = try #require(events.last?.json?["response"])
            #expect(final["status"] == "completed")
            #expect(final["output"]?[0]?["content"]?[0]?["text"]?.stringValue == deltas)
            #expect(deltas == "Let me look.")
            let call = try #require(final["output"]?[1])
            #expect(call["type"] == "function_call" && call["name"] == "get_weather" && call["arguments"] == #"{"city":"Rome"}"#)
            #expect((final["usage"]?["output_tokens"]?.intValue ?? 0) > 0)
            // The stored answer is the one streamed.
            let id = try #require(final["id"]?.stringValue)
            let fetched = try await gateway.send(.GET, "/v1/responses/\(id)", headers: ["authorization": "Bearer test-key"])
            #expect(fetched.status == 200 && fetched.json == final)
        }
    }

    /// A tool round trip continued with `previous_response_id`, moving from OpenAI to Claude between turns:
    /// the gateway replays the whole conversation to the new vendor in its own format.
    @Test func functionCallRoundTripAcrossVendors() async throws {
        let vendors = Self.vendors()
        vendors[1].enqueue(.reply(SimulatedReply(text: "", toolCalls: [("get_weather", #"{"city":"Paris"}"#)])))
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let first = try await gateway.post("/v1/responses", json: ["model": "gpt", "input": "Weather in Paris?", "tools": [Self.weatherTool]])
            let call = try #require(first.json?["output"]?.arrayValue?.first { $0["type"] == "function_call" })
            let callID = try #require(call["call_id"]?.stringValue)
            let firstID = try #require(first.json?["id"]?.stringValue)

            let second = try await gateway.post(
                "/v1/responses",
                json: [
                    "model": "claude", "previous_response_id": .string(firstID), "tools": [Self.weatherTool],
                    "input": [["type": "function_call_output", "call_id": .string(callID), "output": "Sunny, 22C"]],
                ])
            #expect(second.status == 200)
            #expect(second.json?["previous_response_id"] == .string(firstID))
            let sent = try #require(vendors[0].requests.last?.body?["messages"]?.arrayValue)
            #expect(sent.count == 3)
            #expect(sent[0]["content"]?[0]?["text"] == "Weather in Paris?")
            #expect(sent[1]["role"] == "assistant" && sent[1]["content"]?[0]?["type"] == "tool_use" && sent[1]["content"]?[0]?["name"] == "get_weather")
            #expect(sent[2]["content"]?[0]?["type"] == "tool_result" && sent[2]["content"]?[0]?["tool_use_id"] == sent[1]["content"]?[0]?["id"])
            #expect(sent[2]["content"]?[0]?["content"]?.jsonString.contains("Sunny, 22C") == true)

            // A third turn chains on the second: the whole history again.
            let secondID = try #require(second.json?["id"]?.stringValue)
            let third = try await gateway.post("/v1/responses", json: ["model": "gpt", "previous_response_id": .string(secondID), "input": "Thanks!"])
            #expect(third.status == 200)
            let replay = try #require(vendors[1].requests.last?.body?["messages"]?.arrayValue)
            #expect(replay.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool", "assistant", "user"])
            #expect(replay[3]["content"] == "It rains in Paris.")

            let items = try await gateway.send(.GET, "/v1/responses/\(secondID)/input_items", headers: ["authorization": "Bearer test-key"])
            #expect(items.json?["data"]?.arrayValue?.count == 3)
        }
    }

    /// Conversation state belongs to the key that made it; `store: false` keeps nothing; DELETE forgets.
    @Test func storedResponsesAreScopedToTheirKey() async throws {
        try await LiveGateway.run(vendors: Self.vendors(), config: Self.config) { gateway in
            let created = try await gateway.post("/v1/responses", json: ["model": "gpt", "input": "Hi"])
            let id = try #require(created.json?["id"]?.stringValue)
            let mine = try await gateway.send(.GET, "/v1/responses/\(id)", headers: ["authorization": "Bearer test-key"])
            #expect(mine.status == 200 && mine.json?["id"] == .string(id))

            let theirs = try await gateway.send(.GET, "/v1/responses/\(id)", headers: ["authorization": "Bearer other-key"])
            #expect(theirs.status == 404 && theirs.json?["error"]?["type"] == "not_found_error")
            let continued = try await gateway.post("/v1/responses", json: ["model": "gpt", "input": "More", "previous_response_id": .string(id)], key: "other-key")
            #expect(continued.status == 404 && continued.json?["error"]?["param"] == "previous_response_id")
            let deletedByOther = try await gateway.send(.DELETE, "/v1/responses/\(id)", headers: ["authorization": "Bearer other-key"])
            #expect(deletedByOther.status == 404)

            let deleted = try await gateway.send(.DELETE, "/v1/responses/\(id)", headers: ["authorization": "Bearer test-key"])
            #expect(deleted.status == 200 && deleted.json == ["id": .string(id), "object": "response", "deleted": true])
            #expect(try await gateway.send(.GET, "/v1/responses/\(id)", headers: ["authorization": "Bearer test-key"]).status == 404)

            let unstored = try await gateway.post("/v1/responses", json: ["model": "gpt", "input": "Hi", "store": false])
            let unstoredID = try #require(unstored.json?["id"]?.stringValue)
            #expect(try await gateway.send(.GET, "/v1/responses/\(unstoredID)", headers: ["authorization": "Bearer test-key"]).status == 404)
            #expect(try await gateway.send(.GET, "/v1/responses/\(unstoredID)").status == 401)
        }
    }

    /// Claude's signed thinking comes out as a reasoning item and goes back to Claude verbatim with the next turn.
    @Test func reasoningRoundTrip() async throws {
        let vendors = Self.vendors(claudeReasoning: "The user asks about Paris.")
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let first = try await gateway.post("/v1/responses", json: ["model": "claude", "input": "Paris?", "reasoning": ["effort": "low"]])
            #expect(vendors[0].requests.last?.body?["thinking"] == ["type": "enabled", "budget_tokens": 2048])
            let reasoning = try #require(first.json?["output"]?[0])
            #expect(reasoning["type"] == "reasoning")
            #expect(reasoning["summary"]?[0]?["text"] == "The user asks about Paris.")
            #expect(reasoning["encrypted_content"] == "sim-claude-signature")

            let id = try #require(first.json?["id"]?.stringValue)
            _ = try await gateway.post("/v1/responses", json: ["model": "claude", "input": "And Rome?", "previous_response_id": .string(id), "reasoning": ["effort": "low"]])
            let replayed = vendors[0].requests.last?.body?["messages"]?[1]?["content"]?[0]
            #expect(replayed == ["type": "thinking", "thinking": "The user asks about Paris.", "signature": "sim-claude-signature"])

            // Streamed, the reasoning is its own item with summary deltas, before the message.
            let (_, reader) = try await gateway.openStream("/v1/responses", json: ["model": "claude", "input": "Paris?", "stream": true, "reasoning": ["effort": "low"]])
            let events = try await reader.all()
            #expect(events.filter { $0.event == "response.reasoning_summary_text.delta" }.compactMap { $0.json?["delta"]?.stringValue }.joined() == "The user asks about Paris.")
            let final = try #require(events.last?.json?["response"])
            #expect(final["output"]?[0]?["type"] == "reasoning" && final["output"]?[0]?["encrypted_content"] == "sim-claude-signature")
            #expect(final["output"]?[1]?["type"] == "message")
        }
    }

    /// To OpenAI itself the Responses API passes through as it is, built-in tools included, and its answers
    /// come back as sent; the gateway still keeps the conversation, which may then move to another vendor.
    @Test func passesThroughToOpenAINatively() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let request: JSONValue = [
                "model": "openai", "input": "News today?", "tools": [["type": "web_search"]], "include": ["web_search_call.action.sources"],
            ]
            let first = try await gateway.post("/v1/responses", json: request)
            #expect(first.status == 200)
            let sent = try #require(vendors[1].requests.last)
            #expect(sent.path == "/v1/responses" && sent.headers["authorization"] == "Bearer sk-upstream-native")
            #expect(sent.body?["tools"] == [["type": "web_search"]] && sent.body?["include"] == ["web_search_call.action.sources"])
            #expect(sent.body?["input"] == [["type": "message", "role": "user", "content": "News today?"]])
            let id = try #require(first.json?["id"]?.stringValue)
            #expect(id.hasPrefix("resp_sim"))  // the vendor's own answer, id included
            #expect(first.json?["output"]?[0]?["type"] == "web_search_call")
            #expect((first.headers.first(name: "x-switchyard-cost") ?? "").isEmpty == false)

            // Continued natively: the gateway spells the conversation out (no previous_response_id upstream).
            let (_, reader) = try await gateway.openStream(
                "/v1/responses", json: ["model": "openai", "stream": true, "input": "More?", "previous_response_id": .string(id), "tools": [["type": "web_search"]]])
            let events = try await reader.all()
            #expect(events.first?.event == "response.created" && events.last?.event == "response.completed")
            let continued = try #require(vendors[1].requests.last?.body)
            #expect(continued["previous_response_id"] == nil)
            #expect(continued["input"]?.arrayValue?.map { $0["type"] } == ["message", "web_search_call", "message", "message"])
            let streamedID = try #require(events.last?.json?["response"]?["id"]?.stringValue)
            let fetched = try await gateway.send(.GET, "/v1/responses/\(streamedID)", headers: ["authorization": "Bearer test-key"])
            #expect(fetched.status == 200 && fetched.json == events.last?.json?["response"])

            // And moved to Claude, the search record left out, the text kept.
            let moved = try await gateway.post("/v1/responses", json: ["model": "claude", "input": "Summarise.", "previous_response_id": .string(streamedID)])
            #expect(moved.status == 200)
            let toClaude = try #require(vendors[0].requests.last?.body?["messages"]?.arrayValue)
            #expect(toClaude.count == 5 && toClaude[0]["content"]?[0]?["text"] == "News today?")

            await gateway.gateway.requestLog?.waitUntilRecorded(3)
            await gateway.gateway.requestLog?.flush()
            let usage = try await gateway.gateway.requestLog?.store.usage(
                UsageQuery(since: Date().addingTimeInterval(-3600), until: Date().addingTimeInterval(3600), groupBy: .target))
            let native = usage?.first { $0.group == "native/gpt-4o" }
            #expect(native?.requests == 2 && native?.promptTokens == vendors[1].reportedUsage.prompt && native?.completionTokens == vendors[1].reportedUsage.completion)
        }
    }

    @Test func passThroughMidStreamFailureIsForwarded() async throws {
        let vendors = Self.vendors()
        vendors[1].enqueue(.failMidStream(afterChunks: 2, error: ["error": ["message": "Overloaded", "type": "server_error"]]))
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let (_, reader) = try await gateway.openStream("/v1/responses", json: ["model": "openai", "stream": true, "input": "Hi"])
            let events = try await reader.all()
            #expect(events.last?.event == "error" && events.last?.json?["message"] == "Overloaded")
            #expect(events.filter { $0.event == "error" }.count == 1)
        }
    }

    @Test func unsupportedInputIsAClearError() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let builtIn = try await gateway.post("/v1/responses", json: ["model": "claude", "input": "Search", "tools": [["type": "web_search"]]])
            #expect(builtIn.status == 400 && builtIn.json?["error"]?["message"]?.stringValue?.contains("web_search") == true)
            let background = try await gateway.post("/v1/responses", json: ["model": "gpt", "input": "Hi", "background": true])
            #expect(background.status == 400 && background.json?["error"]?["param"] == "background")
            let missing = try await gateway.post("/v1/responses", json: ["model": "gpt"])
            #expect(missing.status == 400 && missing.json?["error"]?["param"] == "input")
            let badItem = try await gateway.post("/v1/responses", json: ["model": "gpt", "input": [["type": "function_call_output", "output": "x"]]])
            #expect(badItem.status == 400 && badItem.json?["error"]?["param"] == "input[0].call_id")
            let unknown = try await gateway.post("/v1/responses", json: ["model": "nope", "input": "Hi"])
            #expect(unknown.status == 404 && unknown.json?["error"]?["code"] == "model_not_found")
            let wrongMethod = try await gateway.send(.PUT, "/v1/responses", body: "{}")
            #expect(wrongMethod.status == 405)
            #expect(vendors.allSatisfy { $0.requests.isEmpty })
        }
    }

    /// After the first byte there is no failover: the stream ends with `error` and `response.failed`.
    @Test func midStreamFailureEndsWithFailedResponse() async throws {
        let vendors = Self.vendors()
        vendors[1].enqueue(.failMidStream(afterChunks: 2, error: ["error": ["message": "Overloaded", "type": "server_error", "param": .null, "code": .null]]))
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let (_, reader) = try await gateway.openStream("/v1/responses", json: ["model": "gpt", "stream": true, "input": "Hi"])
            let events = try await reader.all()
            #expect(events.suffix(2).compactMap(\.event) == ["error", "response.failed"])
            #expect(events.last?.json?["response"]?["status"] == "failed")
            #expect(events.last?.json?["response"]?["error"]?["code"] == "server_error")
            #expect(events.map { $0.json?["sequence_number"]?.intValue } == events.indices.map { $0 })
        }
    }
}
