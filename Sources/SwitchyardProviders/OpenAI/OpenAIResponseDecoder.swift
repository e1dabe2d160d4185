import NIOCore
public import SwitchyardCore

/// OpenAI Chat Completions response bodies → canonical responses.
public enum OpenAIResponseDecoder {
    public static func decode(_ json: JSONValue) throws(UpstreamFailure) -> ChatResponse {
        guard let choicesJSON = json["choices"]?.arrayValue else {
            throw UpstreamFailure(kind: .unavailable, message: "OpenAI-format response without 'choices'")
        }
        let choices = choicesJSON.enumerated().map { offset, choice in
            let message = choice["message"]
            var parts: [ContentPart] = []
            // Open-weight servers and DeepSeek show reasoning as `reasoning_content` (vLLM also as `reasoning`).
            if let reasoning = (message?["reasoning_content"] ?? message?["reasoning"])?.stringValue, !reasoning.isEmpty {
                parts.append(.reasoning(ReasoningPart(text: reasoning)))
            }
            if let text = message?["content"]?.stringValue, !text.isEmpty { parts.append(.text(text)) }
            for call in message?["tool_calls"]?.arrayValue ?? [] {
                let function = call["function"]
                parts.append(
                    .toolCall(
                        ToolCall(
                            id: call["id"]?.stringValue ?? "call_\(offset)", name: function?["name"]?.stringValue ?? "",
                            arguments: function?["arguments"]?.stringValue ?? "{}")))
            }
            // `.none`, not `nil`: JSONValue takes a `nil` literal as JSON null, which kept the null here.
            let logprobs = choice["logprobs"].flatMap { $0.isNull ? .none : $0 }
            return ChatChoice(
                index: choice["index"]?.intValue ?? offset,
                message: ChatMessage(role: .assistant, parts: parts),
                finishReason: finishReason(choice["finish_reason"]?.stringValue),
                logprobs: logprobs,
                refusal: message?["refusal"]?.stringValue)
        }
        return ChatResponse(
            id: json["id"]?.stringValue ?? "chatcmpl-switchyard",
            model: json["model"]?.stringValue ?? "",
            created: json["created"]?.intValue ?? currentUnixTime(),
            choices: choices,
            usage: json["usage"].flatMap(usage),
            systemFingerprint: json["system_fingerprint"]?.stringValue)
    }

    /// OpenAI usage → canonical usage; `nil` for `null` or a missing object.
    public static func usage(_ json: JSONValue) -> Usage? {
        guard case .object = json else { return nil }
        let prompt = json["prompt_tokens"]?.intValue ?? 0
        return Usage(
            promptTokens: prompt,
            completionTokens: json["completion_tokens"]?.intValue ?? max(0, (json["total_tokens"]?.intValue ?? prompt) - prompt),
            cachedPromptTokens: json["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? json["prompt_cache_hit_tokens"]?.intValue ?? 0,
            cacheWritePromptTokens: json["prompt_tokens_details"]?["cache_write_tokens"]?.intValue ?? 0,
            reasoningTokens: json["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
    }

    /// OpenAI-family finish reasons, including vendor extras (providers.md §8.1); unknown values → `stop`.
    public static func finishReason(_ text: String?) -> FinishReason {
        switch text {
        case "length", "model_length": .length
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .stop
        }
    }
}
