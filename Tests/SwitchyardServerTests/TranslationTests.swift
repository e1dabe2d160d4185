import Foundation
import NIOCore
@testable import SwitchyardServer
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Golden translations between the two dialects and the providers, from the shared fixtures.
@Suite struct TranslationTests {
    private func decode(_ fixture: String, with decoder: any ChatStreamDecoder) throws -> [ChatEvent] {
        var decoder = decoder
        var events = try decoder.decode(ByteBuffer(string: try Fixtures.text(fixture)))
        events += try decoder.finish()
        return events
    }

    private func dataLines(_ sse: String) -> [JSONValue] {
        sse.split(separator: "\n").filter { $0.hasPrefix("data: ") && !$0.hasPrefix("data: [DONE]") }.compactMap { try? JSONParser.parse(String($0.dropFirst(6))) }
    }

    @Test func anthropicStreamBecomesTheExactOpenAIChunks() throws {
        let events = try decode("anthropic/stream_text_tool_use.sse", with: AnthropicStreamDecoder())
        var encoder = OpenAIStreamEncoder(includeUsage: true, created: 1_741_569_952)
        var output: [UInt8] = []
        for event in events { encoder.encode(event, into: &output) }
        encoder.encodeEnd(into: &output)
        let produced = String(decoding: output, as: UTF8.self)
        let expected = try Fixtures.text("translation/anthropic_stream_to_openai_chunks.sse")
        var producedChunks = dataLines(produced)
        let expectedChunks = dataLines(expected)
        // Our usage chunk adds completion_tokens_details; the fixture's SDK-validated subset must match.
        if case .object(var last)? = producedChunks.last, case .object(var usage)? = last["usage"] {
            usage["completion_tokens_details"] = nil
            last["usage"] = .object(usage)
            producedChunks[producedChunks.count - 1] = .object(last)
        }
        #expect(producedChunks.count == expectedChunks.count)
        for (ours, theirs) in zip(producedChunks, expectedChunks) { #expect(ours == theirs) }
        #expect(produced.hasSuffix("data: [DONE]\n\n"))
    }

    @Test func anthropicMidStreamErrorBecomesTheOpenAIErrorChunk() throws {
        let text = try Fixtures.text("anthropic/stream_midstream_overloaded.sse")
        let split = try #require(text.range(of: "event: error"))
        var decoder = AnthropicStreamDecoder()
        var encoder = OpenAIStreamEncoder(includeUsage: true, created: 1_741_569_952)
        var output: [UInt8] = []
        for event in try decoder.decode(ByteBuffer(string: String(text[..<split.lowerBound]))) { encoder.encode(event, into: &output) }
        do {
            _ = try decoder.decode(ByteBuffer(string: String(text[split.lowerBound...])))
            Issue.record("the error event should fail the stream")
        } catch {
            #expect(error.kind == .overloaded)
            encoder.encodeError(GatewayError.midStream(error), into: &output)
        }
        let produced = dataLines(String(decoding: output, as: UTF8.self))
        let expected = dataLines(try Fixtures.text("translation/anthropic_midstream_error_to_openai.sse"))
        #expect(produced == expected)
        #expect(!String(decoding: output, as: UTF8.self).contains("[DONE]"))
    }

    @Test func openAIToolResultRequestBecomesTheAnthropicRequest() throws {
        let openAI = try OpenAIRequestDecoder.decodeChat(try Fixtures.json("openai/chat_request_tool_result.json"), headers: [])
        let provider = AnthropicProvider(config: ProviderConfig(name: "claude", type: "anthropic", keys: ["k"]))
        let upstream = try provider.makeChatRequest(openAI, model: "claude-sonnet-4-5-20250929")
        let produced = try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? [])
        let expected = try Fixtures.json("anthropic/messages_request_tool_result.json")
        #expect(produced["max_tokens"] == expected["max_tokens"])
        #expect(produced["system"] == expected["system"]?.arrayValue?.first?["text"])
        #expect(produced["tools"] == expected["tools"])
        // Same conversation; the OpenAI call id stands in for Anthropic's toolu id.
        let messages = try #require(produced["messages"]?.arrayValue)
        let expectedMessages = try #require(expected["messages"]?.arrayValue)
        #expect(messages.count == expectedMessages.count)
        #expect(messages[0]["content"]?.arrayValue?.first?["text"] == expectedMessages[0]["content"])
        #expect(messages[1]["content"]?.arrayValue?.first == expectedMessages[1]["content"]?.arrayValue?.first)
        #expect(messages[1]["content"]?.arrayValue?[1]["input"] == expectedMessages[1]["content"]?.arrayValue?[1]["input"])
        #expect(messages[1]["content"]?.arrayValue?[1]["id"] == "call_7pWyJ3nS0bGq4XhV1eTtZk2M")
        #expect(messages[2]["content"]?.arrayValue?.first?["tool_use_id"] == "call_7pWyJ3nS0bGq4XhV1eTtZk2M")
        #expect(messages[2]["content"]?.arrayValue?.first?["content"] == expectedMessages[2]["content"]?.arrayValue?.first?["content"])
    }

    @Test func anthropicToolResultRequestBecomesTheOpenAIRequest() throws {
        let anthropic = try AnthropicRequestDecoder.decode(try Fixtures.json("anthropic/messages_request_tool_result.json"), headers: [])
        var canonical = anthropic
        canonical.passThrough = nil  // the OpenAI provider is a different dialect: no pass-through
        let provider = OpenAIProvider(config: ProviderConfig(name: "oai", type: "openai", keys: ["k"]))
        let produced = try JSONParser.parse(try provider.makeChatRequest(canonical, model: "gpt-4o-2024-08-06").body.map { Array($0.readableBytesView) } ?? [])
        let expected = try Fixtures.json("openai/chat_request_tool_result.json")
        let messages = try #require(produced["messages"]?.arrayValue)
        let expectedMessages = try #require(expected["messages"]?.arrayValue)
        #expect(messages.map { $0["role"] } == expectedMessages.map { $0["role"] })
        #expect(messages[0]["content"] == expectedMessages[0]["content"])
        #expect(messages[2]["tool_calls"]?.arrayValue?.first?["function"]?["name"] == "get_weather")
        #expect(try JSONParser.parse(messages[2]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue ?? "") == ["city": "Paris"])
        #expect(messages[3]["content"] == expectedMessages[3]["content"])
        #expect(messages[3]["tool_call_id"] == "toolu_01A09q90qw90lq917835lq9")
        #expect(produced["tools"]?.arrayValue?.first?["function"]?["parameters"] == expected["tools"]?.arrayValue?.first?["function"]?["parameters"])
        #expect(produced["max_completion_tokens"] == 1024)
    }

    @Test func openAIStreamBecomesTheAnthropicEventSequence() throws {
        let events = try decode("openai/chat_stream_text_tool_call.sse", with: OpenAIStreamDecoder())
        var encoder = AnthropicStreamEncoder()
        var output: [UInt8] = []
        for event in events { encoder.encode(event, into: &output) }
        encoder.encodeEnd(into: &output)
        var decoder = SSEDecoder()
        let produced = try decoder.decode(ByteBuffer(bytes: output))
        #expect(produced.map { $0.event ?? "" } == [
            "message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
        ])
        let json = produced.compactMap { try? JSONParser.parse($0.data) }
        #expect(json[1]["index"] == 0)
        #expect(json[5]["content_block"]?["type"] == "tool_use")
        #expect(json[5]["content_block"]?["id"] == "call_7pWyJ3nS0bGq4XhV1eTtZk2M")
        #expect(json[5]["index"] == 1)
        #expect(json[9]["delta"]?["stop_reason"] == "tool_use")
        #expect(json[9]["usage"]?["output_tokens"] == 24)
        #expect(json[9]["usage"]?["input_tokens"] == 92)
        let arguments = json.filter { $0["delta"]?["type"] == "input_json_delta" }.compactMap { $0["delta"]?["partial_json"]?.stringValue }.joined()
        #expect(try JSONParser.parse(arguments) == ["city": "Paris"])
    }

    @Test func anthropicRequestFixtureDecodesToCanonical() throws {
        let request = try AnthropicRequestDecoder.decode(try Fixtures.json("anthropic/messages_request_tools_stream.json"), headers: [])
        #expect(request.stream)
        #expect(request.maxTokens == 1024)
        #expect(request.messages.first == .text(.system, "You are a concise weather assistant."))
        #expect(request.tools.first?.name == "get_weather")
        #expect(request.toolChoice == .auto)
        #expect(request.sampling.temperature == 0.2)
        #expect(request.dialectOnlyFields.isEmpty)
    }
}
