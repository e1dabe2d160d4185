import SwitchyardCore

/// Canonical stream events → the Anthropic Messages SSE sequence (providers.md §2.4, §9.1): message_start,
/// content blocks with running indexes, message_delta with stop reason and usage, message_stop.
struct AnthropicStreamEncoder: DialectStreamEncoder {
    private enum OpenBlock {
        case text
        case tool(index: Int)
    }

    private var pendingStart: (id: String, model: String)?
    private var started = false
    private var openBlock: OpenBlock?
    private var nextBlockIndex = 0
    private var stopReason: FinishReason?
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
        case .textDelta(let text, let choice):
            guard choice == 0 else { return }
            if case .text? = openBlock {} else {
                closeBlock(into: &output)
                openBlock = .text
                write("content_block_start", ["type": "content_block_start", "index": .int(nextBlockIndex), "content_block": ["type": "text", "text": ""]], into: &output)
            }
            write(
                "content_block_delta",
                ["type": "content_block_delta", "index": .int(nextBlockIndex), "delta": ["type": "text_delta", "text": .string(text)]], into: &output)
        case .toolCallStart(let index, let id, let name, let choice):
            guard choice == 0 else { return }
            closeBlock(into: &output)
            openBlock = .tool(index: index)
            write(
                "content_block_start",
                [
                    "type": "content_block_start", "index": .int(nextBlockIndex),
                    "content_block": ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]],
                ], into: &output)
        case .toolCallArguments(let index, let fragment, let choice):
            guard choice == 0, case .tool(let open)? = openBlock, open == index else { return }
            write(
                "content_block_delta",
                ["type": "content_block_delta", "index": .int(nextBlockIndex), "delta": ["type": "input_json_delta", "partial_json": .string(fragment)]],
                into: &output)
        case .finish(let reason, let choice):
            guard choice == 0 else { return }
            closeBlock(into: &output)
            stopReason = reason
        case .start, .usage, .logprobs:
            break  // Anthropic's stream has no log-probabilities
        }
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
                "delta": ["stop_reason": .string(AnthropicResponseEncoder.stopReason(stopReason ?? .stop)), "stop_sequence": .null],
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

    private mutating func closeBlock(into output: inout [UInt8]) {
        guard openBlock != nil else { return }
        write("content_block_stop", ["type": "content_block_stop", "index": .int(nextBlockIndex)], into: &output)
        openBlock = nil
        nextBlockIndex += 1
    }

    private func write(_ name: String, _ data: JSONValue, into output: inout [UInt8]) {
        output.append(contentsOf: "event: \(name)\ndata: ".utf8)
        data.write(to: &output)
        output.append(contentsOf: "\n\n".utf8)
    }
}

/// The Anthropic Messages dialect.
struct AnthropicDialect: ClientDialect {
    func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)]) throws(GatewayError) -> ChatRequest {
        try AnthropicRequestDecoder.decode(body, headers: headers)
    }

    func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue {
        AnthropicResponseEncoder.encode(response)
    }

    func makeStreamEncoder(for request: ChatRequest) -> AnthropicStreamEncoder {
        AnthropicStreamEncoder()
    }

    func encodeError(_ error: GatewayError) -> JSONValue {
        AnthropicResponseEncoder.encodeError(error)
    }
}
