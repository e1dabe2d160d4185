import SwitchyardCore

/// OpenAI Responses API answers → canonical results, for requests that passed through to `/responses`
/// (providers.md §1.8): the gateway still reads usage, finish and errors from what it forwards as sent.
enum OpenAIResponsesDecoder {
    static func decode(_ json: JSONValue) throws(UpstreamFailure) -> ChatResponse {
        if json["status"]?.stringValue == "failed" {
            throw failure(json["error"] ?? .null)
        }
        var parts: [ContentPart] = []
        var refusal: String?
        for item in json["output"]?.arrayValue ?? [] {
            switch item["type"]?.stringValue {
            case "message":
                for part in item["content"]?.arrayValue ?? [] {
                    if let text = part["text"]?.stringValue, part["type"] == "output_text" { parts.append(.text(text)) }
                    if let text = part["refusal"]?.stringValue { refusal = (refusal ?? "") + text }
                }
            case "function_call":
                parts.append(
                    .toolCall(
                        ToolCall(
                            id: item["call_id"]?.stringValue ?? "", name: item["name"]?.stringValue ?? "", arguments: item["arguments"]?.stringValue ?? "{}")))
            case "reasoning":
                let text = (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
                if !text.isEmpty { parts.append(.reasoning(ReasoningPart(text: text))) }
            default:
                continue  // built-in tool calls: the client gets them as sent
            }
        }
        let message = ChatMessage(role: .assistant, parts: parts)
        let choice = ChatChoice(index: 0, message: message, finishReason: finishReason(json, hasCalls: !message.toolCalls.isEmpty), refusal: refusal)
        return ChatResponse(
            id: json["id"]?.stringValue ?? "", model: json["model"]?.stringValue ?? "", created: json["created_at"]?.intValue ?? currentUnixTime(),
            choices: [choice], usage: json["usage"].flatMap(usage))
    }

    static func finishReason(_ response: JSONValue, hasCalls: Bool) -> FinishReason {
        if response["status"] == "incomplete" {
            return response["incomplete_details"]?["reason"] == "content_filter" ? .contentFilter : .length
        }
        return hasCalls ? .toolCalls : .stop
    }

    static func usage(_ json: JSONValue) -> Usage? {
        guard let input = json["input_tokens"]?.intValue, let output = json["output_tokens"]?.intValue else { return nil }
        return Usage(
            promptTokens: input, completionTokens: output, cachedPromptTokens: json["input_tokens_details"]?["cached_tokens"]?.intValue ?? 0,
            reasoningTokens: json["output_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
    }

    /// A failed response's or an `error` event's error, classified as OpenAI's in-band errors are.
    static func failure(_ error: JSONValue) -> UpstreamFailure {
        let code = error["code"]?.stringValue
        let type: String =
            switch code {
            case "rate_limit_exceeded": "rate_limit_error"
            case "invalid_prompt", "invalid_request_error": "invalid_request_error"
            default: "server_error"
            }
        return OpenAIFailure.classifyInBand(["message": error["message"] ?? "the response failed", "type": .string(type), "code": code.map(JSONValue.string) ?? .null])
    }
}

/// The Responses API's typed stream events → canonical events. Built-in tool items produce none (the client
/// receives them as sent); function calls are numbered by their order among the answer's calls.
struct OpenAIResponsesEventDecoder {
    private var started = false
    private(set) var finished = false
    /// Output index of each function call item → its canonical call index.
    private var calls: [Int: Int] = [:]

    mutating func handle(_ event: JSONValue, type: String, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        switch type {
        case "response.created", "response.in_progress":
            guard !started else { return }
            started = true
            events.append(.start(id: event["response"]?["id"]?.stringValue ?? "", model: event["response"]?["model"]?.stringValue ?? ""))
        case "response.output_text.delta":
            if let delta = event["delta"]?.stringValue, !delta.isEmpty { events.append(.textDelta(delta)) }
        case "response.refusal.delta":
            if let delta = event["delta"]?.stringValue, !delta.isEmpty { events.append(.refusalDelta(delta)) }
        case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
            if let delta = event["delta"]?.stringValue, !delta.isEmpty { events.append(.reasoningDelta(delta)) }
        case "response.output_item.added":
            guard event["item"]?["type"] == "function_call", let output = event["output_index"]?.intValue else { return }
            let index = calls.count
            calls[output] = index
            events.append(
                .toolCallStart(index: index, id: event["item"]?["call_id"]?.stringValue ?? "", name: event["item"]?["name"]?.stringValue ?? ""))
        case "response.function_call_arguments.delta":
            guard let output = event["output_index"]?.intValue, let index = calls[output], let delta = event["delta"]?.stringValue else { return }
            events.append(.toolCallArguments(index: index, fragment: delta))
        case "response.completed", "response.incomplete":
            finished = true
            let response = event["response"] ?? .null
            events.append(.finish(OpenAIResponsesDecoder.finishReason(response, hasCalls: !calls.isEmpty)))
            if let usage = response["usage"].flatMap(OpenAIResponsesDecoder.usage) { events.append(.usage(usage)) }
        case "response.failed":
            throw OpenAIResponsesDecoder.failure(event["response"]?["error"] ?? .null)
        case "error":
            throw OpenAIResponsesDecoder.failure(event)
        default:
            return
        }
    }
}
