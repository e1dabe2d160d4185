import Foundation
import SwitchyardCore

/// Canonical answers and errors → OpenAI response bodies (providers.md §1.4, §1.6, §1.7).
enum OpenAIResponseEncoder {
    static func encode(_ response: ChatResponse) -> JSONValue {
        var object = JSONObject()
        object.append("id", .string(chatID(response.id)))
        object.append("object", "chat.completion")
        object.append("created", .int(response.created))
        object.append("model", .string(response.model))
        object.append(
            "choices",
            .array(
                response.choices.map { choice in
                    var message: JSONObject = ["role": "assistant"]
                    let text = choice.message.text
                    let calls = choice.message.toolCalls
                    message["content"] = text.isEmpty && (!calls.isEmpty || choice.refusal != nil) ? .null : .string(text)
                    message["refusal"] = choice.refusal.map(JSONValue.string) ?? .null
                    let reasoning = choice.message.reasoningText
                    if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
                    let blocks = thinkingBlocks(choice.message.parts)
                    if !blocks.isEmpty { message["thinking_blocks"] = .array(blocks) }
                    if !calls.isEmpty {
                        message["tool_calls"] = .array(
                            calls.map { call in
                                ["id": .string(call.clientID), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                            })
                    }
                    return [
                        "index": .int(choice.index), "message": .object(message), "logprobs": choice.logprobs ?? .null,
                        "finish_reason": .string(finishReason(choice.finishReason)),
                    ]
                }))
        if let usage = response.usage { object.append("usage", encodeUsage(usage)) }
        if let fingerprint = response.systemFingerprint { object.append("system_fingerprint", .string(fingerprint)) }
        return .object(object)
    }

    /// Signed reasoning as `thinking_blocks` (the convention of other gateways), so a client that sends the
    /// message back returns the signatures its vendor needs.
    static func thinkingBlocks(_ parts: [ContentPart]) -> [JSONValue] {
        parts.compactMap { part in
            guard case .reasoning(let reasoning) = part, let signature = reasoning.signature else { return nil }
            return thinkingBlock(text: reasoning.text, signature: signature, isRedacted: reasoning.isRedacted)
        }
    }

    static func thinkingBlock(text: String, signature: ReasoningSignature, isRedacted: Bool) -> JSONValue {
        isRedacted
            ? ["type": "redacted_thinking", "data": .string(signature.clientToken)]
            : ["type": "thinking", "thinking": .string(text), "signature": .string(signature.clientToken)]
    }

    static func encodeUsage(_ usage: Usage) -> JSONValue {
        var promptDetails: JSONObject = ["cached_tokens": .int(usage.cachedPromptTokens)]
        // Cache writes (Anthropic, Bedrock) have a field of their own here, as OpenAI-compatible gateways report them.
        if usage.cacheWritePromptTokens > 0 { promptDetails["cache_write_tokens"] = .int(usage.cacheWritePromptTokens) }
        return [
            "prompt_tokens": .int(usage.promptTokens), "completion_tokens": .int(usage.completionTokens),
            "total_tokens": .int(usage.totalTokens),
            "prompt_tokens_details": .object(promptDetails),
            "completion_tokens_details": ["reasoning_tokens": .int(usage.reasoningTokens)],
        ]
    }

    /// OpenAI ids start with `chatcmpl-`; ids of other vendors are prefixed so clients see a familiar shape.
    static func chatID(_ upstreamID: String) -> String {
        upstreamID.hasPrefix("chatcmpl-") ? upstreamID : "chatcmpl-\(upstreamID)"
    }

    /// - Parameter encodingFormat: `base64` turns float arrays (from vendors that only return floats) into
    /// base64 of little-endian float32, as OpenAI sends them and its SDK asks by default.
    static func encodeEmbeddings(_ response: EmbeddingsResponse, encodingFormat: String? = nil) -> JSONValue {
        [
            "object": "list",
            "data": .array(
                response.embeddings.enumerated().map { offset, embedding in
                    let value = encodingFormat == "base64" ? base64Embedding(embedding) : embedding
                    return ["object": "embedding", "index": .int(offset), "embedding": value]
                }),
            "model": .string(response.model),
            "usage": ["prompt_tokens": .int(response.promptTokens), "total_tokens": .int(response.promptTokens)],
        ]
    }

    private static func base64Embedding(_ embedding: JSONValue) -> JSONValue {
        guard case .array(let numbers) = embedding else { return embedding }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(numbers.count * 4)
        for number in numbers {
            let bits = Float(number.doubleValue ?? 0).bitPattern
            bytes.append(contentsOf: [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)])
        }
        return .string(Data(bytes).base64EncodedString())
    }

    /// Canonical finish reason → OpenAI `finish_reason`.
    static func finishReason(_ reason: FinishReason) -> String {
        switch reason {
        case .stop, .stopSequence, .pauseTurn: "stop"
        case .length, .contextWindowExceeded: "length"
        case .toolCalls: "tool_calls"
        case .contentFilter: "content_filter"
        }
    }

    static func encodeError(_ error: GatewayError) -> JSONValue {
        ["error": errorObject(error)]
    }

    static func errorObject(_ error: GatewayError) -> JSONValue {
        let type: String
        switch error.code {
        case .invalidRequest, .payloadTooLarge: type = "invalid_request_error"
        case .authentication: type = "authentication_error"
        case .permission: type = "permission_error"
        case .notFound: type = "not_found_error"
        case .rateLimited: type = "rate_limit_error"
        case .timeout: type = "timeout_error"
        case .overloaded, .unavailable, .upstream, .internalError: type = "server_error"
        }
        let code: JSONValue
        switch (error.code, error.failureKind) {
        case (_, .contextLengthExceeded?): code = "context_length_exceeded"
        case (_, .contentFiltered?): code = "content_filter"
        case (.notFound, _): code = error.parameter == "previous_response_id" ? "previous_response_not_found" : "model_not_found"
        case (.authentication, _): code = "invalid_api_key"
        case (.rateLimited, _): code = "rate_limit_exceeded"
        case (.payloadTooLarge, _): code = "request_too_large"
        case (_, let kind?): code = .string(kind.rawValue)
        default: code = .null
        }
        return ["message": .string(error.message), "type": .string(type), "param": error.parameter.map(JSONValue.string) ?? .null, "code": code]
    }
}
