import Foundation
import NIOCore
@testable import SwitchyardServer
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Nothing that changes the answer is dropped or fused in translation.
@Suite struct FidelityTests {
    private func chunk(_ delta: JSONValue, finish: String? = nil) -> String {
        let choice: JSONValue = ["index": 0, "delta": delta, "finish_reason": finish.map(JSONValue.string) ?? .null]
        let object: JSONValue = ["id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [choice]]
        return "data: \(object.jsonString)\n\n"
    }

    private func events(_ sse: String) throws -> [ChatEvent] {
        var decoder = OpenAIStreamDecoder()
        return try decoder.decode(ByteBuffer(string: sse)) + decoder.finish()
    }

    private func anthropicEvents(_ events: [ChatEvent]) -> [(name: String, data: JSONValue)] {
        var encoder = AnthropicStreamEncoder()
        var output: [UInt8] = []
        for event in events { encoder.encode(event, into: &output) }
        encoder.encodeEnd(into: &output)
        let text = String(decoding: output, as: UTF8.self)
        return text.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard let name = lines.first(where: { $0.hasPrefix("event: ") }), let data = lines.first(where: { $0.hasPrefix("data: ") }),
                let json = try? JSONParser.parse(String(data.dropFirst(6)))
            else { return nil }
            return (String(name.dropFirst(7)), json)
        }
    }

    @Test func interleavedParallelToolCallFragmentsReachAnthropicClientsWhole() throws {
        func call(_ index: Int, id: String? = nil, name: String? = nil, args: String) -> JSONValue {
            var function: JSONObject = ["arguments": .string(args)]
            if let name { function["name"] = .string(name) }
            var object: JSONObject = ["index": .int(index), "function": .object(function)]
            if let id {
                object["id"] = .string(id)
                object["type"] = "function"
            }
            return ["tool_calls": [.object(object)]]
        }
        let sse =
            chunk(["role": "assistant", "content": .null]) + chunk(call(0, id: "call_a", name: "weather", args: ""))
            + chunk(call(1, id: "call_b", name: "time", args: "")) + chunk(call(0, args: #"{"city":"#)) + chunk(call(1, args: #"{"zone":"#))
            + chunk(call(0, args: #""Paris"}"#)) + chunk(call(1, args: #""CET"}"#)) + chunk([:], finish: "tool_calls") + "data: [DONE]\n\n"
        let blocks = anthropicEvents(try events(sse))
        var inputs: [Int: String] = [:]
        var names: [Int: String] = [:]
        var open: Int?
        for (name, data) in blocks {
            let index = data["index"]?.intValue ?? -1
            switch name {
            case "content_block_start":
                #expect(open == nil, "a block started while another was open")
                open = index
                names[index] = data["content_block"]?["name"]?.stringValue
            case "content_block_delta":
                #expect(open == index, "a delta for a block that is not open")
                inputs[index, default: ""] += data["delta"]?["partial_json"]?.stringValue ?? ""
            case "content_block_stop":
                #expect(open == index)
                open = nil
            default: break
            }
        }
        #expect(names == [0: "weather", 1: "time"])
        #expect(inputs == [0: #"{"city":"Paris"}"#, 1: #"{"zone":"CET"}"#])
        #expect(blocks.last?.name == "message_stop")
        #expect(blocks.first { $0.name == "message_delta" }?.data["delta"]?["stop_reason"] == "tool_use")
    }

    @Test func aStreamedRefusalStaysARefusalForOpenAIClientsAndIsTextForAnthropicClients() throws {
        let sse = chunk(["role": "assistant", "content": .null, "refusal": ""]) + chunk(["refusal": "I can't "]) + chunk(["refusal": "help with that."])
            + chunk([:], finish: "stop") + "data: [DONE]\n\n"
        let decoded = try events(sse)
        #expect(decoded.contains(.refusalDelta("I can't ")))
        #expect(!decoded.contains { if case .textDelta = $0 { true } else { false } })

        var openAI = OpenAIStreamEncoder(includeUsage: false, created: 1)
        var output: [UInt8] = []
        for event in decoded { openAI.encode(event, into: &output) }
        let text = String(decoding: output, as: UTF8.self)
        #expect(text.contains(#""refusal":"I can't ""#))
        #expect(!text.contains(#""content":"I can't ""#))

        let anthropic = anthropicEvents(decoded)
        let delivered = anthropic.compactMap { $0.data["delta"]?["text"]?.stringValue }.joined()
        #expect(delivered == "I can't help with that.")
    }

    @Test func aCompleteRefusalReachesAnthropicClients() {
        let response = ChatResponse(
            id: "chatcmpl-1", model: "gpt-4o", created: 1,
            choices: [ChatChoice(index: 0, message: ChatMessage(role: .assistant, parts: []), finishReason: .stop, refusal: "I can't help with that.")], usage: nil)
        let encoded = AnthropicResponseEncoder.encode(response)
        #expect(encoded["content"]?.arrayValue?.first?["text"] == "I can't help with that.")
    }

    /// A tool's image cannot go in an OpenAI tool message: it follows the tool messages in a user turn that
    /// says which call returned it. An image in a system message has no place at all: a clear 400.
    @Test func openAIFormatTargetsCarryToolImagesAndRefuseSystemImages() throws {
        let encoder = OpenAIRequestEncoder(isOpenAIProper: true, requestsStreamUsage: true)
        let image = ImageSource(location: .base64(mediaType: "image/png", data: "iVBORw0KGgo="))
        let inToolResult = ChatRequest(
            model: "m",
            messages: [
                .text(.user, "Screenshot?"),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "c1", name: "shot", arguments: "{}"))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "c1", content: [.text("here"), .image(image)], isError: false))]),
                .text(.user, "Describe it."),
            ])
        let messages = try #require(try encoder.encode(inToolResult, model: "gpt-4o")["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool", "user", "user"])
        #expect(messages[2]["content"] == "here")
        #expect(messages[3]["content"]?[0]?["text"] == "Image returned by tool call c1:")
        #expect(messages[3]["content"]?[1]?["image_url"]?["url"] == "data:image/png;base64,iVBORw0KGgo=")
        let inSystem = ChatRequest(model: "m", messages: [ChatMessage(role: .system, parts: [.image(image)]), .text(.user, "hi")])
        #expect(throws: GatewayError.self) { try encoder.encode(inSystem, model: "gpt-4o") }
    }

    /// Stop reasons both vocabularies know map one to one; those only Anthropic has fold to OpenAI's nearest.
    @Test func stopReasonsMapOneToOne() throws {
        func answer(_ reason: FinishReason) -> ChatResponse {
            ChatResponse(id: "x", model: "m", created: 1, choices: [ChatChoice(index: 0, message: .text(.assistant, "a"), finishReason: reason)], usage: nil)
        }
        let stopSequence = AnthropicResponseEncoder.encode(answer(.stopSequence("END")))
        #expect(stopSequence["stop_reason"] == "stop_sequence" && stopSequence["stop_sequence"] == "END")
        #expect(AnthropicResponseEncoder.encode(answer(.pauseTurn))["stop_reason"] == "pause_turn")
        #expect(AnthropicResponseEncoder.encode(answer(.contextWindowExceeded))["stop_reason"] == "model_context_window_exceeded")
        #expect(AnthropicResponseEncoder.encode(answer(.length))["stop_reason"] == "max_tokens")
        #expect(OpenAIResponseEncoder.encode(answer(.stopSequence("END")))["choices"]?[0]?["finish_reason"] == "stop")
        #expect(OpenAIResponseEncoder.encode(answer(.contextWindowExceeded))["choices"]?[0]?["finish_reason"] == "length")
        let streamed = anthropicEvents([.start(id: "x", model: "m"), .textDelta("a"), .finish(.stopSequence("END"))])
        let delta = try #require(streamed.first { $0.name == "message_delta" }?.data["delta"])
        #expect(delta == ["stop_reason": "stop_sequence", "stop_sequence": "END"])
        // Anthropic's own stream says which sequence matched; the decoder keeps it.
        var decoder = AnthropicStreamDecoder()
        let events = try decoder.decode(ByteBuffer(string: "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"},\"usage\":{\"output_tokens\":2}}\n\n"))
        #expect(events.contains(.finish(.stopSequence("END"))))
    }
}
