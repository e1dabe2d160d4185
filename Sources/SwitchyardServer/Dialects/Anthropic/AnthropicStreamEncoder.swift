import SwitchyardCore

/// Canonical stream events → the Anthropic Messages SSE sequence (providers.md §2.4, §9.1): message_start,
/// content blocks with running indexes, message_delta with stop reason and usage, message_stop.
///
/// Anthropic streams one content block at a time, while OpenAI-format upstreams may interleave the
/// argument fragments of parallel tool calls. The first tool call streams live; calls that start while it
/// is open are held, fragments and all, and written whole as soon as the open block closes.
struct AnthropicStreamEncoder: DialectStreamEncoder {
    private enum OpenBlock {
        case text
        case thinking
        case tool(index: Int)
    }

    /// A tool call that started while another one was streaming.
    private struct HeldToolCall {
        var index: Int
        var id: String
        var name: String
        var arguments: String
    }

    private var heldToolCalls: [HeldToolCall] = []

    private var pendingStart: (id: String, model: String)?
    private var started = false
    private var openBlock: OpenBlock?
    private var nextBlockIndex = 0
    private var stopReason: FinishReason?
    /// OpenAI-format upstreams finish a refusal with `stop`: the refusal deltas are the tell.
    private var sawRefusal = false
    private var usage: Usage?

    mutating func encode(_ event: ChatEvent, into output: inout [UInt8]) {
        // message_start waits for the next event so that usage known at the start is included.
        if case .start(let id, let model) = event {
            if !started, pendingStart == nil { pendingStart = (id, model) }
            return
        }
        if case .usage(let latest) = event {
            usage = latest
            flushStart(into: &output)
            return
        }
        flushStart(into: &output)
        switch event {
        case .textDelta(let text, let choice), .refusalDelta(let text, let choice):
            // Anthropic has no refusal block: a refusal is the answer's text (and its stop reason says so).
            guard choice == 0 else { return }
            if case .refusalDelta = event { sawRefusal = true }
            if case .text? = openBlock {} else {
                closeBlock(into: &output)
                openBlock = .text
                write("content_block_start", ["type": "content_block_start", "index": .int(nextBlockIndex), "content_block": ["type": "text", "text": ""]], into: &output)
            }
            write(
                "content_block_delta",
                ["type": "content_block_delta", "index": .int(nextBlockIndex), "delta": ["type": "text_delta", "text": .string(text)]], into: &output)
        case .reasoningDelta(let text, let choice):
            guard choice == 0 else { return }
            openThinkingBlock(into: &output)
            write(
                "content_block_delta",
                ["type": "content_block_delta", "index": .int(nextBlockIndex), "delta": ["type": "thinking_delta", "thinking": .string(text)]],
                into: &output)
        case .reasoningSignature(let signature, let choice):
            guard choice == 0 else { return }
            openThinkingBlock(into: &output)
            write(
                "content_block_delta",
                [
                    "type": "content_block_delta", "index": .int(nextBlockIndex),
                    "delta": ["type": "signature_delta", "signature": .string(signature.clientToken)],
                ], into: &output)
            closeBlock(into: &output)
        case .redactedReasoning(let data, let choice):
            guard choice == 0 else { return }
            closeBlock(into: &output)
            write(
                "content_block_start",
                [
                    "type": "content_block_start", "index": .int(nextBlockIndex),
                    "content_block": ["type": "redacted_thinking", "data": .string(data.clientToken)],
                ], into: &output)
            write("content_block_stop", ["type": "content_block_stop", "index": .int(nextBlockIndex)], into: &output)
            nextBlockIndex += 1
        case .toolCallStart(let index, let id, let name, let signature, let choice):
            guard choice == 0 else { return }
            let clientID = ToolCall(id: id, name: name, arguments: "", signature: signature).clientID
            if case .tool? = openBlock {
                heldToolCalls.append(HeldToolCall(index: index, id: clientID, name: name, arguments: ""))
                return
            }
            closeBlock(into: &output)
            openToolBlock(index: index, id: clientID, name: name, into: &output)
        case .toolCallArguments(let index, let fragment, let choice):
            guard choice == 0 else { return }
            if case .tool(let open)? = openBlock, open == index {
                writeArguments(fragment, into: &output)
            } else if let held = heldToolCalls.firstIndex(where: { $0.index == index }) {
                heldToolCalls[held].arguments += fragment
            }
        case .finish(let reason, let choice):
            guard choice == 0 else { return }
            closeBlock(into: &output)
            stopReason = reason
        case .start, .usage, .logprobs:
            break  // Anthropic's stream has no log-probabilities
        }
    }

    private mutating func openThinkingBlock(into output: inout [UInt8]) {
        if case .thinking? = openBlock { return }
        closeBlock(into: &output)
        openBlock = .thinking
        write(
            "content_block_start",
            ["type": "content_block_start", "index": .int(nextBlockIndex), "content_block": ["type": "thinking", "thinking": "", "signature": ""]],
            into: &output)
    }

    private mutating func openToolBlock(index: Int, id: String, name: String, into output: inout [UInt8]) {
        openBlock = .tool(index: index)
        write(
            "content_block_start",
            [
                "type": "content_block_start", "index": .int(nextBlockIndex),
                "content_block": ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]],
            ], into: &output)
    }

    private func writeArguments(_ fragment: String, into output: inout [UInt8]) {
        write(
            "content_block_delta",
            ["type": "content_block_delta", "index": .int(nextBlockIndex), "delta": ["type": "input_json_delta", "partial_json": .string(fragment)]],
            into: &output)
    }

    mutating func encodeEnd(into output: inout [UInt8]) {
        flushStart(into: &output)
        closeBlock(into: &output)
        let finalUsage = usage ?? Usage()
        var usageJSON = AnthropicResponseEncoder.encodeUsage(finalUsage).objectValue ?? JSONObject()
        usageJSON["output_tokens"] = .int(finalUsage.completionTokens)
        write(
            "message_delta",
            [
                "type": "message_delta",
                "delta": [
                    "stop_reason": .string(AnthropicResponseEncoder.stopReason(sawRefusal ? .contentFilter : stopReason ?? .stop)),
                    "stop_sequence": AnthropicResponseEncoder.stopSequence(stopReason),
                ],
                "usage": .object(usageJSON),
            ], into: &output)
        write("message_stop", ["type": "message_stop"], into: &output)
    }

    mutating func encodeError(_ error: GatewayError, into output: inout [UInt8]) {
        write("error", AnthropicResponseEncoder.encodeError(error), into: &output)
    }

    private mutating func flushStart(into output: inout [UInt8]) {
        guard !started, let start = pendingStart else { return }
        started = true
        pendingStart = nil
        let startUsage = usage ?? Usage()
        let message: JSONValue = [
            "id": .string(AnthropicResponseEncoder.messageID(start.id)), "type": "message", "role": "assistant", "model": .string(start.model),
            "content": [], "stop_reason": .null, "stop_sequence": .null,
            "usage": [
                "input_tokens": .int(max(0, startUsage.promptTokens - startUsage.cachedPromptTokens - startUsage.cacheWritePromptTokens)),
                "cache_creation_input_tokens": .int(startUsage.cacheWritePromptTokens),
                "cache_read_input_tokens": .int(startUsage.cachedPromptTokens), "output_tokens": .int(startUsage.completionTokens),
            ],
        ]
        write("message_start", ["type": "message_start", "message": message], into: &output)
    }

    /// Closes the open block, then writes every held tool call as a whole block of its own.
    private mutating func closeBlock(into output: inout [UInt8]) {
        guard openBlock != nil else { return }
        write("content_block_stop", ["type": "content_block_stop", "index": .int(nextBlockIndex)], into: &output)
        openBlock = nil
        nextBlockIndex += 1
        let held = heldToolCalls
        heldToolCalls = []
        for call in held {
            openToolBlock(index: call.index, id: call.id, name: call.name, into: &output)
            if !call.arguments.isEmpty { writeArguments(call.arguments, into: &output) }
            write("content_block_stop", ["type": "content_block_stop", "index": .int(nextBlockIndex)], into: &output)
            openBlock = nil
            nextBlockIndex += 1
        }
    }

    private func write(_ name: String, _ data: JSONValue, into output: inout [UInt8]) {
        output.append(contentsOf: "event: \(name)\ndata: ".utf8)
        data.write(to: &output)
        output.append(contentsOf: "\n\n".utf8)
    }
}

/// The Anthropic Messages dialect.
struct AnthropicDialect: ClientDialect {
    func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)], key: VirtualKeyConfig?) throws(GatewayError) -> (ChatRequest, Void) {
        (try AnthropicRequestDecoder.decode(body, headers: headers), ())
    }

    func encodeResponse(_ response: ChatResponse, for request: ChatRequest, context: Void) -> JSONValue {
        AnthropicResponseEncoder.encode(response)
    }

    func makeStreamEncoder(for request: ChatRequest, context: Void) -> AnthropicStreamEncoder {
        AnthropicStreamEncoder()
    }

    func encodeError(_ error: GatewayError) -> JSONValue {
        AnthropicResponseEncoder.encodeError(error)
    }

    func status(for error: GatewayError) -> Int {
        AnthropicResponseEncoder.status(error)
    }
}
