import SwitchyardCore

/// Canonical answers and errors → Anthropic Messages bodies (providers.md §2.3, §2.5).
enum AnthropicResponseEncoder {
    static func encode(_ response: ChatResponse) -> JSONValue {
        let choice = response.choices.first
        var content: [JSONValue] = []
        // Anthropic has no refusal block: the refusal is the answer's text, and the stop reason says so.
        if let refusal = choice?.refusal, !refusal.isEmpty { content.append(["type": "text", "text": .string(refusal)]) }
        for part in choice?.message.parts ?? [] {
            switch part {
            case .text(let text) where !text.isEmpty:
                content.append(["type": "text", "text": .string(text)])
            case .reasoning(let reasoning):
                if let block = thinkingBlock(reasoning) { content.append(block) }
            case .toolCall(let call):
                content.append(["type": "tool_use", "id": .string(call.clientID), "name": .string(call.name), "input": toolInput(call.arguments)])
            default:
                continue
            }
        }
        var object = JSONObject()
        object.append("id", .string(messageID(response.id)))
        object.append("type", "message")
        object.append("role", "assistant")
        object.append("model", .string(response.model))
        object.append("content", .array(content))
        // OpenAI says `stop` for a refusal too; the refusal text is the tell.
        let refused = !(choice?.refusal ?? "").isEmpty
        let reason: FinishReason = refused ? .contentFilter : choice?.finishReason ?? .stop
        object.append("stop_reason", .string(stopReason(reason)))
        object.append("stop_sequence", stopSequence(reason))
        object.append("usage", encodeUsage(response.usage ?? Usage()))
        return .object(object)
    }

    /// A thinking block; reasoning without a signature (a vendor that shows thoughts without signing them)
    /// is still shown, with an empty signature, as Anthropic's own streams start blocks.
    static func thinkingBlock(_ reasoning: ReasoningPart) -> JSONValue? {
        if reasoning.isRedacted, let data = reasoning.signature {
            return ["type": "redacted_thinking", "data": .string(data.clientToken)]
        }
        guard !reasoning.text.isEmpty || reasoning.signature != nil else { return nil }
        return ["type": "thinking", "thinking": .string(reasoning.text), "signature": .string(reasoning.signature?.clientToken ?? "")]
    }

    /// Canonical usage → Anthropic usage, whose `input_tokens` excludes cache reads and writes.
    static func encodeUsage(_ usage: Usage) -> JSONValue {
        [
            "input_tokens": .int(max(0, usage.promptTokens - usage.cachedPromptTokens - usage.cacheWritePromptTokens)),
            "cache_creation_input_tokens": .int(usage.cacheWritePromptTokens),
            "cache_read_input_tokens": .int(usage.cachedPromptTokens),
            "output_tokens": .int(usage.completionTokens),
        ]
    }

    /// Tool arguments as an object; arguments that are not a JSON object are wrapped rather than lost.
    static func toolInput(_ arguments: String) -> JSONValue {
        guard let parsed = try? JSONParser.parse(arguments) else { return arguments.isEmpty ? [:] : ["_raw": .string(arguments)] }
        if case .object = parsed { return parsed }
        return ["_value": parsed]
    }

    static func messageID(_ upstreamID: String) -> String {
        upstreamID.hasPrefix("msg_") ? upstreamID : "msg_\(upstreamID)"
    }

    /// Canonical finish reason → Anthropic `stop_reason` (providers.md §8.1, reverse direction).
    static func stopReason(_ reason: FinishReason) -> String {
        switch reason {
        case .stop: "end_turn"
        case .stopSequence: "stop_sequence"
        case .length: "max_tokens"
        case .contextWindowExceeded: "model_context_window_exceeded"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        case .pauseTurn: "pause_turn"
        }
    }

    /// The matched stop sequence, when the reason is one and the vendor said which.
    static func stopSequence(_ reason: FinishReason?) -> JSONValue {
        if case .stopSequence(let sequence?)? = reason { return .string(sequence) }
        return .null
    }

    static func encodeError(_ error: GatewayError) -> JSONValue {
        ["type": "error", "error": ["type": .string(errorType(error)), "message": .string(error.message)]]
    }

    /// The status Anthropic's SDK expects with the error type: an overload is 529, as Anthropic sends it.
    static func status(_ error: GatewayError) -> Int {
        error.code == .overloaded && error.status >= 500 ? 529 : error.status
    }

    static func errorType(_ error: GatewayError) -> String {
        switch error.code {
        case .invalidRequest: "invalid_request_error"
        case .payloadTooLarge: "request_too_large"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .rateLimited: "rate_limit_error"
        case .timeout: "timeout_error"
        case .overloaded: "overloaded_error"
        case .unavailable, .upstream, .internalError: "api_error"
        }
    }
}
