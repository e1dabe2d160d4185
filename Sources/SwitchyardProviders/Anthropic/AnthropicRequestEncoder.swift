public import SwitchyardCore

/// Canonical chat requests → Anthropic Messages bodies (providers.md §2.2, §8).
public struct AnthropicRequestEncoder: Sendable {
    /// Output cap when neither the client nor the route gives one; Anthropic requires `max_tokens`.
    public var defaultMaxTokens: Int
    /// The `anthropic-version` sent; `2026-10-21` removed the sampling parameters.
    public var apiVersion: String

    public static let fallbackMaxTokens = 4096

    public init(defaultMaxTokens: Int, apiVersion: String) {
        self.defaultMaxTokens = defaultMaxTokens
        self.apiVersion = apiVersion
    }

    private var dropsSampling: Bool { apiVersion >= "2026-10-21" }

    public func encode(_ request: ChatRequest, model: String) throws(GatewayError) -> JSONValue {
        if let passThrough = request.passThrough, passThrough.dialect == .anthropic,
            !carriesForeignReasoning(request.messages) || !request.dialectOnlyFields.isEmpty
        {
            var body = passThrough.body
            body["model"] = .string(model)
            if body["max_tokens"] == nil { body["max_tokens"] = .int(request.maxTokens ?? defaultMaxTokens) }
            if dropsSampling { for key in ["temperature", "top_p", "top_k"] { body[key] = nil } }
            return .object(body)
        }
        try rejectUnsupported(request)
        try rejectUntranslatable(request.messages)
        var body = JSONObject()
        body.append("model", .string(model))
        body.append("max_tokens", .int(request.maxTokens ?? defaultMaxTokens))
        var system = request.messages.filter { $0.role == .system || $0.role == .developer }.flatMap(\.markedTextBlocks).filter { !$0.text.isEmpty }
        if case .jsonObject = request.responseFormat {
            system.append(("Respond with a single JSON object and nothing else.", nil))
        }
        // One plain block stays a string; several, or a cached one, stay blocks, never fused into one.
        if system.count == 1, system[0].cacheControl == nil {
            body.append("system", .string(system[0].text))
        } else if !system.isEmpty {
            body.append(
                "system",
                .array(
                    system.map { block in
                        var object: JSONObject = ["type": "text", "text": .string(block.text)]
                        if let mark = block.cacheControl { object.append("cache_control", mark) }
                        return .object(object)
                    }))
        }
        body.append("messages", .array(encodeMessages(request.messages)))
        if !request.tools.isEmpty {
            // `none` keeps the tools: Anthropic's {type: none} means "offered, not to be called now".
            body.append("tools", .array(request.tools.map(encodeTool)))
            // Anthropic says "no parallel calls" on the tool choice, so one is made (auto) when only that was asked.
            let wantsSerial = request.parallelToolCalls == false && request.toolChoice != ToolChoice.none
            if var choice = encodeToolChoice(request.toolChoice ?? (wantsSerial ? .auto : nil)) {
                if wantsSerial { choice["disable_parallel_tool_use"] = true }
                body.append("tool_choice", .object(choice))
            }
        }
        if case .jsonSchema(_, _, let schema, _) = request.responseFormat {
            body.append("output_config", ["format": ["type": "json_schema", "schema": schema]])
        }
        if !request.stop.isEmpty { body.append("stop_sequences", .array(request.stop.map { .string($0) })) }
        let thinkingBudget = request.reasoning?.budgetTokens
        if let budget = thinkingBudget {
            // Anthropic wants max_tokens above the thinking budget, counting the answer on top of it.
            let cap = request.maxTokens ?? defaultMaxTokens
            if cap <= budget { body["max_tokens"] = .int(budget + cap) }
            body.append("thinking", ["type": "enabled", "budget_tokens": .int(budget)])
        } else if request.reasoning == .disabled {
            body.append("thinking", ["type": "disabled"])
        }
        // Sampling knobs are refused alongside thinking, which fixes them itself.
        if !dropsSampling, thinkingBudget == nil {
            if let value = request.sampling.temperature { body.append("temperature", .double(value)) }
            if let value = request.sampling.topP { body.append("top_p", .double(value)) }
            if let value = request.sampling.topK { body.append("top_k", .int(value)) }
        }
        if let user = request.user { body.append("metadata", ["user_id": .string(user)]) }
        if request.stream { body.append("stream", true) }
        return .object(body)
    }

    /// OpenAI features Anthropic cannot honour get a clear 400 rather than silence (providers.md §8.5).
    private func rejectUnsupported(_ request: ChatRequest) throws(GatewayError) {
        if let n = request.n, n > 1 { throw .invalidRequest("n > 1 is not supported by Anthropic models.", parameter: "n") }
        if request.logprobs == true { throw .invalidRequest("logprobs are not supported by Anthropic models.", parameter: "logprobs") }
        if let temperature = request.sampling.temperature, temperature > 1 {
            throw .invalidRequest("temperature above 1 is not supported by Anthropic models (range 0–1).", parameter: "temperature")
        }
        if let penalty = request.sampling.frequencyPenalty, penalty != 0 {
            throw .invalidRequest("frequency_penalty is not supported by Anthropic models.", parameter: "frequency_penalty")
        }
        if let penalty = request.sampling.presencePenalty, penalty != 0 {
            throw .invalidRequest("presence_penalty is not supported by Anthropic models.", parameter: "presence_penalty")
        }
    }

    /// What Anthropic's Messages API cannot carry gets a clear 400 before sending, never silence: images
    /// in the system prompt (it is text only) and tool-call arguments that are not a JSON object (a
    /// `tool_use` input must be one).
    private func rejectUntranslatable(_ messages: [ChatMessage]) throws(GatewayError) {
        for (position, message) in messages.enumerated() {
            if message.role == .system || message.role == .developer, message.parts.contains(where: { if case .text = $0 { false } else { true } }) {
                throw .invalidRequest("messages[\(position)]: Anthropic models take text only in system messages.", parameter: "messages[\(position)].content")
            }
            for case .toolCall(let call) in message.parts where !call.arguments.isEmpty {
                guard case .object? = try? JSONParser.parse(call.arguments) else {
                    throw .invalidRequest(
                        "messages[\(position)]: the arguments of tool call '\(call.id)' are not a JSON object, which Anthropic models require.",
                        parameter: "messages[\(position)].tool_calls")
                }
            }
        }
    }

    /// Reasoning Anthropic did not sign, or calls signed by another vendor (their ids carry the signature).
    private func carriesForeignReasoning(_ messages: [ChatMessage]) -> Bool {
        messages.contains { message in
            message.parts.contains { part in
                switch part {
                case .reasoning(let reasoning): reasoning.signature?.family != .anthropic
                case .toolCall(let call): call.signature != nil
                default: false
                }
            }
        }
    }

    /// Messages as alternating user/assistant turns: tool results merged into the next user turn and put
    /// first, consecutive same-role turns merged, empty text dropped (providers.md §10).
    private func encodeMessages(_ messages: [ChatMessage]) -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        for message in messages {
            let role: String
            var blocks: [JSONValue] = []
            switch message.role {
            case .system, .developer: continue
            case .assistant: role = "assistant"
            case .user, .tool: role = "user"
            }
            for (index, part) in message.parts.enumerated() {
                var encoded = encodePart(part)
                if let mark = message.cacheMarks[index], case .object(var last)? = encoded.last {
                    last["cache_control"] = mark
                    encoded[encoded.count - 1] = .object(last)
                }
                blocks.append(contentsOf: encoded)
            }
            guard !blocks.isEmpty else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks.append(contentsOf: blocks)
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { turn in
            var blocks = turn.blocks
            if turn.role == "user" {
                let results = blocks.filter { $0["type"] == "tool_result" }
                if !results.isEmpty { blocks = results + blocks.filter { $0["type"] != "tool_result" } }
            }
            return ["role": .string(turn.role), "content": .array(blocks)]
        }
    }

    private func encodePart(_ part: ContentPart) -> [JSONValue] {
        switch part {
        case .text(let text):
            return text.isEmpty ? [] : [["type": "text", "text": .string(text)]]
        case .image(let image):
            return [encodeImage(image)]
        case .reasoning(let reasoning):
            // Only Claude's own signed reasoning goes back to Claude; anything else it would reject.
            guard let signature = reasoning.signature, signature.family == .anthropic else { return [] }
            if reasoning.isRedacted { return [["type": "redacted_thinking", "data": .string(signature.value)]] }
            return [["type": "thinking", "thinking": .string(reasoning.text), "signature": .string(signature.value)]]
        case .toolCall(let call):
            let input = (try? JSONParser.parse(call.arguments)).flatMap { $0.objectValue.map(JSONValue.object) } ?? .object(JSONObject())
            return [["type": "tool_use", "id": .string(AnthropicToolID.sanitize(call.id)), "name": .string(call.name), "input": input]]
        case .toolResult(let result):
            var block: JSONObject = ["type": "tool_result", "tool_use_id": .string(AnthropicToolID.sanitize(result.callID))]
            if result.content.count <= 1, result.content.allSatisfy({ if case .text = $0 { true } else { false } }) {
                block["content"] = .string(result.content.textBlocks.first ?? "")
            } else {
                block["content"] = .array(result.content.flatMap(encodePart))
            }
            if result.isError { block["is_error"] = true }
            return [.object(block)]
        }
    }

    private func encodeImage(_ image: ImageSource) -> JSONValue {
        if let inline = image.inlineData {
            return ["type": "image", "source": ["type": "base64", "media_type": .string(inline.mediaType), "data": .string(inline.data)]]
        }
        guard case .url(let url) = image.location else { return ["type": "text", "text": ""] }
        return ["type": "image", "source": ["type": "url", "url": .string(url)]]
    }

    private func encodeTool(_ tool: ToolDefinition) -> JSONValue {
        var object: JSONObject = ["name": .string(tool.name)]
        if let description = tool.description { object["description"] = .string(description) }
        object["input_schema"] = tool.parameters ?? ["type": "object", "properties": [:]]
        if let strict = tool.strict, strict { object["strict"] = true }
        if let mark = tool.cacheControl { object["cache_control"] = mark }
        return .object(object)
    }

    private func encodeToolChoice(_ choice: ToolChoice?) -> JSONObject? {
        guard let choice else { return nil }
        switch choice {
        case .auto: return ["type": "auto"]
        case .none: return ["type": "none"]
        case .required: return ["type": "any"]
        case .function(let name): return ["type": "tool", "name": .string(name)]
        }
    }
}
