import SwitchyardCore

/// Canonical stream events → OpenAI `chat.completion.chunk` SSE (providers.md §1.5, §9).
struct OpenAIStreamEncoder: DialectStreamEncoder {
    private var id = "chatcmpl-switchyard"
    private var model = ""
    private let created: Int
    private let includeUsage: Bool
    private var usage: Usage?
    private var started = false
    /// Log-probabilities waiting for the delta they belong to, by choice.
    private var pendingLogprobs: [Int: JSONValue] = [:]
    /// Reasoning text since the last signature, by choice: a signed `thinking_blocks` entry repeats it.
    private var unsignedReasoning: [Int: String] = [:]

    init(includeUsage: Bool, created: Int) {
        self.includeUsage = includeUsage
        self.created = created
    }

    /// The SSE bytes for one event.
    mutating func encode(_ event: ChatEvent, into output: inout [UInt8]) {
        switch event {
        case .start(let upstreamID, let upstreamModel):
            guard !started else { return }
            started = true
            id = OpenAIResponseEncoder.chatID(upstreamID)
            model = upstreamModel
            writeChunk(choice: 0, delta: ["role": "assistant", "content": ""], finishReason: nil, into: &output)
        case .textDelta(let text, let choice):
            writeChunk(choice: choice, delta: ["content": .string(text)], finishReason: nil, logprobs: pendingLogprobs.removeValue(forKey: choice), into: &output)
        case .refusalDelta(let text, let choice):
            writeChunk(choice: choice, delta: ["refusal": .string(text)], finishReason: nil, into: &output)
        case .reasoningDelta(let text, let choice):
            unsignedReasoning[choice, default: ""] += text
            writeChunk(choice: choice, delta: ["reasoning_content": .string(text)], finishReason: nil, into: &output)
        case .reasoningSignature(let signature, let choice):
            let text = unsignedReasoning.removeValue(forKey: choice) ?? ""
            let block = OpenAIResponseEncoder.thinkingBlock(text: text, signature: signature, isRedacted: false)
            writeChunk(choice: choice, delta: ["thinking_blocks": [block]], finishReason: nil, into: &output)
        case .redactedReasoning(let data, let choice):
            let block = OpenAIResponseEncoder.thinkingBlock(text: "", signature: data, isRedacted: true)
            writeChunk(choice: choice, delta: ["thinking_blocks": [block]], finishReason: nil, into: &output)
        case .logprobs(let value, let choice):
            pendingLogprobs[choice] = value
        case .toolCallStart(let index, let callID, let name, let signature, let choice):
            let clientID = ToolCall(id: callID, name: name, arguments: "", signature: signature).clientID
            let call: JSONValue = [
                "index": .int(index), "id": .string(clientID), "type": "function", "function": ["name": .string(name), "arguments": ""],
            ]
            writeChunk(choice: choice, delta: ["tool_calls": [call]], finishReason: nil, into: &output)
        case .toolCallArguments(let index, let fragment, let choice):
            let call: JSONValue = ["index": .int(index), "function": ["arguments": .string(fragment)]]
            writeChunk(choice: choice, delta: ["tool_calls": [call]], finishReason: nil, into: &output)
        case .finish(let reason, let choice):
            writeChunk(choice: choice, delta: [:], finishReason: reason, into: &output)
        case .usage(let latest):
            usage = latest
        }
    }

    /// The closing bytes of a completed stream: the usage chunk when asked for, then `[DONE]`.
    func encodeEnd(into output: inout [UInt8]) {
        if includeUsage {
            var chunk = header()
            chunk.append("choices", [])
            chunk.append("usage", usage.map(OpenAIResponseEncoder.encodeUsage) ?? .null)
            writeData(.object(chunk), into: &output)
        }
        output.append(contentsOf: "data: [DONE]\n\n".utf8)
    }

    /// An in-band error that ends a stream that already started (no `[DONE]` follows).
    func encodeError(_ error: GatewayError, into output: inout [UInt8]) {
        // The in-band shape of OpenAI-family streams (providers.md §9): no code, the type names the problem.
        let type: String =
            switch error.code {
            case .overloaded, .unavailable: "overloaded_error"
            case .rateLimited: "rate_limit_error"
            case .timeout: "timeout_error"
            case .invalidRequest: "invalid_request_error"
            default: "server_error"
            }
        writeData(["error": ["message": .string(error.message), "type": .string(type), "param": .null, "code": .null]], into: &output)
    }

    private func header() -> JSONObject {
        var chunk = JSONObject()
        chunk.append("id", .string(id))
        chunk.append("object", "chat.completion.chunk")
        chunk.append("created", .int(created))
        chunk.append("model", .string(model))
        return chunk
    }

    private func writeChunk(choice: Int, delta: JSONValue, finishReason: FinishReason?, logprobs: JSONValue? = nil, into output: inout [UInt8]) {
        var chunk = header()
        chunk.append(
            "choices",
            [
                [
                    "index": .int(choice), "delta": delta, "logprobs": logprobs ?? .null,
                    "finish_reason": finishReason.map { .string(OpenAIResponseEncoder.finishReason($0)) } ?? .null,
                ]
            ])
        if includeUsage { chunk.append("usage", .null) }
        writeData(.object(chunk), into: &output)
    }

    private func writeData(_ value: JSONValue, into output: inout [UInt8]) {
        output.append(contentsOf: "data: ".utf8)
        value.write(to: &output)
        output.append(contentsOf: "\n\n".utf8)
    }
}
