public import SwitchyardCore

/// Anthropic Messages responses → canonical responses (providers.md §2.3, §8.1, §8.4).
public enum AnthropicResponseDecoder {
    public static func decode(_ json: JSONValue) throws(UpstreamFailure) -> ChatResponse {
        guard let content = json["content"]?.arrayValue else {
            throw UpstreamFailure(kind: .unavailable, message: "Anthropic response without 'content'")
        }
        var parts: [ContentPart] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text":
                if let text = block["text"]?.stringValue, !text.isEmpty { parts.append(.text(text)) }
            case "tool_use":
                parts.append(
                    .toolCall(
                        ToolCall(
                            id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? "",
                            arguments: (block["input"] ?? .object(JSONObject())).jsonString)))
            case "thinking":
                let signature = block["signature"]?.stringValue.flatMap { $0.isEmpty ? nil : ReasoningSignature(family: .anthropic, value: $0) }
                parts.append(.reasoning(ReasoningPart(text: block["thinking"]?.stringValue ?? "", signature: signature)))
            case "redacted_thinking":
                guard let data = block["data"]?.stringValue else { continue }
                parts.append(.reasoning(ReasoningPart(text: "", signature: ReasoningSignature(family: .anthropic, value: data), isRedacted: true)))
            default:
                continue  // server-tool blocks have no canonical form
            }
        }
        return ChatResponse(
            id: json["id"]?.stringValue ?? "msg_switchyard",
            model: json["model"]?.stringValue ?? "",
            created: currentUnixTime(),
            choices: [ChatChoice(index: 0, message: ChatMessage(role: .assistant, parts: parts), finishReason: finishReason(json["stop_reason"]?.stringValue, stopSequence: json["stop_sequence"]?.stringValue))],
            usage: json["usage"].map { usage($0) })
    }

    /// Anthropic usage → canonical; Anthropic's `input_tokens` excludes cache reads and writes.
    public static func usage(_ json: JSONValue, previous: Usage? = nil) -> Usage {
        let input = json["input_tokens"]?.intValue
        let cacheWrite = json["cache_creation_input_tokens"]?.intValue
        let cacheRead = json["cache_read_input_tokens"]?.intValue
        var usage = previous ?? Usage()
        if input != nil || cacheWrite != nil || cacheRead != nil {
            let write = cacheWrite ?? previous?.cacheWritePromptTokens ?? 0
            let read = cacheRead ?? previous?.cachedPromptTokens ?? 0
            let plain = input ?? ((previous?.promptTokens ?? 0) - (previous?.cacheWritePromptTokens ?? 0) - (previous?.cachedPromptTokens ?? 0))
            usage.promptTokens = plain + write + read
            usage.cachedPromptTokens = read
            usage.cacheWritePromptTokens = write
        }
        if let output = json["output_tokens"]?.intValue { usage.completionTokens = output }
        if let thinking = json["output_tokens_details"]?["thinking_tokens"]?.intValue { usage.reasoningTokens = thinking }
        return usage
    }

    public static func finishReason(_ stopReason: String?, stopSequence: String? = nil) -> FinishReason {
        switch stopReason {
        case "max_tokens": .length
        case "model_context_window_exceeded": .contextWindowExceeded
        case "stop_sequence": .stopSequence(stopSequence)
        case "pause_turn": .pauseTurn
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        default: .stop
        }
    }
}
