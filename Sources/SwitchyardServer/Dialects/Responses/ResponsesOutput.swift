import SwitchyardCore

/// What one Responses request keeps from its decoding to its answer: the id the gateway gives the answer,
/// the request fields a response object echoes, and the conversation to store.
struct ResponsesContext: Sendable {
    let id: String
    let createdAt: Int
    /// Request parameters echoed in the response object, in the vendor's order.
    let echo: JSONObject
    /// Whether the answer is kept as conversation state (`store`, default true).
    let store: Bool
    let keyName: String?
    /// The conversation's input items, earlier turns included: stored with the answer.
    let conversation: [JSONValue]

    /// A fresh response id: `resp_` and 128 random bits in hex, as long as the vendor's.
    static func newID(prefix: String = "resp_") -> String {
        prefix + randomHex(words: 2)
    }

    /// The response object with this request's echoed fields.
    func responseObject(status: String, model: String, output: [JSONValue], usage: Usage?, incompleteReason: String? = nil, error: JSONValue = .null) -> JSONValue {
        var object = JSONObject()
        object.append("id", .string(id))
        object.append("object", "response")
        object.append("created_at", .int(createdAt))
        object.append("status", .string(status))
        object.append("background", false)
        object.append("error", error)
        object.append("incomplete_details", incompleteReason.map { ["reason": .string($0)] } ?? .null)
        for (key, value) in echo where key != "model" { object.append(key, value) }
        object.append("model", .string(model))
        object.append("output", .array(output))
        object.append("usage", usage.map(ResponsesOutput.usage) ?? .null)
        return .object(object)
    }

    /// The echoed request fields, with the vendor's defaults where the client gave none.
    static func echo(of body: JSONValue) -> JSONObject {
        func field(_ name: String, _ fallback: JSONValue) -> JSONValue {
            guard let value = body[name], !value.isNull else { return fallback }
            return value
        }
        var echo = JSONObject()
        echo.append("instructions", field("instructions", .null))
        echo.append("max_output_tokens", field("max_output_tokens", .null))
        echo.append("metadata", field("metadata", .object(JSONObject())))
        echo.append("parallel_tool_calls", field("parallel_tool_calls", true))
        echo.append("previous_response_id", field("previous_response_id", .null))
        echo.append("reasoning", field("reasoning", ["effort": .null, "summary": .null]))
        echo.append("store", field("store", true))
        echo.append("temperature", field("temperature", .double(1)))
        echo.append("text", field("text", ["format": ["type": "text"]]))
        echo.append("tool_choice", field("tool_choice", "auto"))
        echo.append("tools", field("tools", []))
        echo.append("top_p", field("top_p", .double(1)))
        echo.append("truncation", field("truncation", "disabled"))
        echo.append("user", field("user", .null))
        return echo
    }
}

/// Output items and usage in the Responses shapes, shared by complete and streamed answers.
enum ResponsesOutput {
    /// Marks redacted reasoning in a reasoning item's `encrypted_content`, so that it goes back as redacted.
    static let redactedPrefix = "redacted~"

    static func messageItem(id: String, parts: [JSONValue], status: String = "completed") -> JSONValue {
        ["type": "message", "id": .string(id), "status": .string(status), "role": "assistant", "content": .array(parts)]
    }

    static func textPart(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    static func refusalPart(_ text: String) -> JSONValue {
        ["type": "refusal", "refusal": .string(text)]
    }

    static func functionCallItem(id: String, call: ToolCall, status: String = "completed") -> JSONValue {
        [
            "type": "function_call", "id": .string(id), "call_id": .string(call.clientID), "name": .string(call.name),
            "arguments": .string(call.arguments), "status": .string(status),
        ]
    }

    /// A reasoning item: the visible reasoning as its summary, and its signature (which the vendor needs
    /// back with the conversation) as `encrypted_content`, which clients replay unchanged.
    static func reasoningItem(_ reasoning: ReasoningPart, id: String) -> JSONValue {
        var item: JSONObject = ["type": "reasoning", "id": .string(id)]
        item.append("summary", reasoning.text.isEmpty ? [] : [["type": "summary_text", "text": .string(reasoning.text)]])
        if let signature = reasoning.signature {
            item.append("encrypted_content", .string((reasoning.isRedacted ? redactedPrefix : "") + signature.clientToken))
        }
        return .object(item)
    }

    static func usage(_ usage: Usage) -> JSONValue {
        var inputDetails: JSONObject = ["cached_tokens": .int(usage.cachedPromptTokens)]
        if usage.cacheWritePromptTokens > 0 { inputDetails.append("cache_write_tokens", .int(usage.cacheWritePromptTokens)) }
        return [
            "input_tokens": .int(usage.promptTokens), "input_tokens_details": .object(inputDetails), "output_tokens": .int(usage.completionTokens),
            "output_tokens_details": ["reasoning_tokens": .int(usage.reasoningTokens)], "total_tokens": .int(usage.totalTokens),
        ]
    }

    /// A response's status and, when incomplete, why.
    static func status(_ reason: FinishReason) -> (status: String, incompleteReason: String?) {
        switch reason {
        case .length, .contextWindowExceeded: ("incomplete", "max_output_tokens")
        case .contentFilter: ("incomplete", "content_filter")
        case .stop, .stopSequence, .toolCalls, .pauseTurn: ("completed", nil)
        }
    }

    /// The output items of a complete answer: reasoning first, then the message, then function calls.
    static func items(of choice: ChatChoice) -> [JSONValue] {
        var items: [JSONValue] = []
        var contents: [JSONValue] = []
        for part in choice.message.parts {
            switch part {
            case .reasoning(let reasoning): items.append(reasoningItem(reasoning, id: ResponsesContext.newID(prefix: "rs_")))
            case .text(let text): contents.append(textPart(text))
            default: continue
            }
        }
        if let refusal = choice.refusal { contents.append(refusalPart(refusal)) }
        if !contents.isEmpty { items.append(messageItem(id: ResponsesContext.newID(prefix: "msg_"), parts: contents)) }
        for call in choice.message.toolCalls { items.append(functionCallItem(id: ResponsesContext.newID(prefix: "fc_"), call: call)) }
        return items
    }

    /// The error object of a failed response.
    static func errorObject(_ error: GatewayError) -> JSONValue {
        let code: String =
            switch error.code {
            case .rateLimited: "rate_limit_exceeded"
            case .invalidRequest, .payloadTooLarge: "invalid_prompt"
            default: "server_error"
            }
        return ["code": .string(code), "message": .string(error.message)]
    }
}
