public import SwitchyardCore

/// `GenerateContentResponse` → canonical responses, for the Gemini API and Gemini on Vertex
/// (providers.md §3.4, §8.1, §8.4).
public enum GeminiResponseDecoder {
    public static func decode(_ json: JSONValue, vendor: String) throws(UpstreamFailure) -> ChatResponse {
        let candidates = json["candidates"]?.arrayValue ?? []
        if candidates.isEmpty { throw blockedPrompt(json, vendor: vendor) }
        var choices: [ChatChoice] = []
        for (offset, candidate) in candidates.enumerated() {
            let parts = decodeParts(candidate["content"]?["parts"]?.arrayValue ?? [])
            let hasCalls = parts.contains { if case .toolCall = $0 { true } else { false } }
            let reason = candidate["finishReason"]?.stringValue
            guard let finish = finishReason(reason, hasToolCalls: hasCalls) else {
                throw UpstreamFailure(kind: .unavailable, message: "\(vendor) could not finish the answer (\(reason ?? "?"))")
            }
            choices.append(
                ChatChoice(
                    index: candidate["index"]?.intValue ?? offset, message: ChatMessage(role: .assistant, parts: parts), finishReason: finish,
                    logprobs: candidate["logprobsResult"].flatMap(logprobs)))
        }
        return ChatResponse(
            id: json["responseId"]?.stringValue ?? "gemini-\(ToolCallIDs.mint())", model: json["modelVersion"]?.stringValue ?? "",
            created: currentUnixTime(), choices: choices, usage: json["usageMetadata"].map(usage))
    }

    /// Parts in canonical form. A thought signature on a text part rides on an empty reasoning part just
    /// before it, so that it can go back on the same text part later.
    static func decodeParts(_ parts: [JSONValue]) -> [ContentPart] {
        var result: [ContentPart] = []
        for part in parts {
            let signature = part["thoughtSignature"]?.stringValue.map { ReasoningSignature(family: .gemini, value: $0) }
            if part["thought"]?.boolValue == true {
                result.append(.reasoning(ReasoningPart(text: part["text"]?.stringValue ?? "", signature: signature)))
            } else if let call = part["functionCall"] {
                result.append(.toolCall(toolCall(call, signature: signature)))
            } else if let text = part["text"]?.stringValue {
                if let signature { result.append(.reasoning(ReasoningPart(text: "", signature: signature))) }
                if !text.isEmpty { result.append(.text(text)) }
            }
        }
        return result
    }

    /// Gemini's calls usually have no id: one is minted, and results find their way back by name.
    static func toolCall(_ call: JSONValue, signature: ReasoningSignature?) -> ToolCall {
        ToolCall(
            id: call["id"]?.stringValue ?? "call_\(ToolCallIDs.mint())", name: call["name"]?.stringValue ?? "",
            arguments: (call["args"] ?? [:]).jsonString, signature: signature)
    }

    /// `nil` for finish reasons that mean the model failed to produce an answer (providers.md §8.1).
    static func finishReason(_ reason: String?, hasToolCalls: Bool) -> FinishReason? {
        switch reason {
        case "MAX_TOKENS": return .length
        case "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MODEL_ARMOR", "ESCALATION", "PUP_LIMITED_DISABLED":
            return .contentFilter
        case let image? where image.hasPrefix("IMAGE_"):
            return .contentFilter
        case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MALFORMED_RESPONSE", "MISSING_THOUGHT_SIGNATURE":
            return nil
        default:
            return hasToolCalls ? .toolCalls : .stop
        }
    }

    /// A prompt blocked before any candidate: `promptFeedback.blockReason`.
    static func blockedPrompt(_ json: JSONValue, vendor: String) -> UpstreamFailure {
        if let reason = json["promptFeedback"]?["blockReason"]?.stringValue {
            return UpstreamFailure(kind: .contentFiltered, status: 400, message: "\(vendor) blocked the prompt (\(reason))")
        }
        return UpstreamFailure(kind: .unavailable, message: "\(vendor) sent a response without candidates")
    }

    /// `usageMetadata` → canonical: the prompt count includes cached tokens, the completion adds thoughts.
    public static func usage(_ json: JSONValue) -> Usage {
        let thoughts = json["thoughtsTokenCount"]?.intValue ?? 0
        return Usage(
            promptTokens: (json["promptTokenCount"]?.intValue ?? 0) + (json["toolUsePromptTokenCount"]?.intValue ?? 0),
            completionTokens: (json["candidatesTokenCount"]?.intValue ?? 0) + thoughts,
            cachedPromptTokens: json["cachedContentTokenCount"]?.intValue ?? 0,
            reasoningTokens: thoughts)
    }

    /// `logprobsResult` in OpenAI's `logprobs` shape.
    static func logprobs(_ json: JSONValue) -> JSONValue? {
        guard let chosen = json["chosenCandidates"]?.arrayValue else { return nil }
        let top = json["topCandidates"]?.arrayValue ?? []
        let content: [JSONValue] = chosen.enumerated().map { offset, token in
            let alternatives = (offset < top.count ? top[offset]["candidates"]?.arrayValue : nil) ?? []
            return [
                "token": token["token"] ?? "", "logprob": token["logProbability"] ?? 0, "bytes": .null,
                "top_logprobs": .array(alternatives.map { ["token": $0["token"] ?? "", "logprob": $0["logProbability"] ?? 0, "bytes": .null] }),
            ]
        }
        return ["content": .array(content), "refusal": .null]
    }
}

/// Tool-call ids for vendors that give none (providers.md §8.3): `call_` + 24 letters and digits.
enum ToolCallIDs {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    static func mint() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<24).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }, as: UTF8.self)
    }
}
