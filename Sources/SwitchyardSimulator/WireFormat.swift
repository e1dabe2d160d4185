import SwitchyardCore

/// The SSE events of one simulated stream: opening events, content chunks, closing events.
struct StreamScript {
    var lead: [String]
    var content: [String]
    var tail: [String]
}

/// Builds simulated answers in the vendor's real wire format (shapes as in shared/fixtures).
struct WireFormat {
    let vendor: SimulatedVendor
    let request: RecordedRequest

    private var model: String { request.body?["model"]?.stringValue ?? "sim-model" }
    private var id: String { vendor.format == .openai ? "chatcmpl-sim\(request.rawBody.utf8.count)" : "msg_sim\(request.rawBody.utf8.count)" }

    /// Whitespace-separated words with the space kept in front, as tokenizers split text.
    private func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for character in text {
            if character == " ", !current.isEmpty {
                tokens.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// A rough prompt size: words in the request body's messages.
    private var promptTokens: Int {
        max(1, request.rawBody.split(whereSeparator: { $0 == " " || $0 == "\"" }).count / 2)
    }

    private func completionTokens(_ reply: SimulatedReply) -> Int {
        tokens(reply.text).count + reply.toolCalls.count * 8
    }

    func completeResponse(_ reply: SimulatedReply) -> JSONValue {
        switch vendor.format {
        case .openai:
            var message: JSONObject = ["role": "assistant", "content": reply.text.isEmpty ? .null : .string(reply.text), "refusal": .null]
            if !reply.toolCalls.isEmpty {
                message["tool_calls"] = .array(
                    reply.toolCalls.enumerated().map { offset, call in
                        ["id": .string("call_sim\(offset)"), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                    })
            }
            return [
                "id": .string(id), "object": "chat.completion", "created": 1_741_569_952, "model": .string(model),
                "choices": [["index": 0, "message": .object(message), "logprobs": .null, "finish_reason": reply.toolCalls.isEmpty ? "stop" : "tool_calls"]],
                "usage": [
                    "prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens(reply)),
                    "total_tokens": .int(promptTokens + completionTokens(reply)), "prompt_tokens_details": ["cached_tokens": 0],
                ],
            ]
        case .anthropic:
            var content: [JSONValue] = reply.text.isEmpty ? [] : [["type": "text", "text": .string(reply.text)]]
            for (offset, call) in reply.toolCalls.enumerated() {
                content.append(
                    ["type": "tool_use", "id": .string("toolu_sim\(offset)"), "name": .string(call.name), "input": (try? JSONParser.parse(call.arguments)) ?? [:]])
            }
            return [
                "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": .array(content),
                "stop_reason": reply.toolCalls.isEmpty ? "end_turn" : "tool_use", "stop_sequence": .null,
                "usage": [
                    "input_tokens": .int(promptTokens), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                    "output_tokens": .int(completionTokens(reply)),
                ],
            ]
        }
    }

    func streamScript(_ reply: SimulatedReply) -> StreamScript {
        switch vendor.format {
        case .openai: openAIScript(reply)
        case .anthropic: anthropicScript(reply)
        }
    }

    func streamError(_ error: JSONValue) -> String {
        switch vendor.format {
        case .openai: "data: \(error.jsonString)\n\n"
        case .anthropic: "event: error\ndata: \(error.jsonString)\n\n"
        }
    }

    private func openAIScript(_ reply: SimulatedReply) -> StreamScript {
        let includeUsage = request.body?["stream_options"]?["include_usage"]?.boolValue == true
        let wantsLogprobs = request.body?["logprobs"]?.boolValue == true
        func chunk(_ delta: JSONValue, finish: JSONValue = .null) -> String {
            var logprobs: JSONValue = .null
            if wantsLogprobs, let token = delta["content"]?.stringValue, !token.isEmpty {
                logprobs = ["content": [["token": .string(token), "logprob": "-0.25", "bytes": .null, "top_logprobs": []]], "refusal": .null]
            }
            var object: JSONObject = [
                "id": .string(id), "object": "chat.completion.chunk", "created": 1_741_569_952, "model": .string(model),
                "choices": [["index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish]],
            ]
            if includeUsage { object["usage"] = .null }
            return "data: \(JSONValue.object(object).jsonString)\n\n"
        }
        var content = tokens(reply.text).map { chunk(["content": .string($0)]) }
        for (offset, call) in reply.toolCalls.enumerated() {
            content.append(
                chunk([
                    "tool_calls": [
                        ["index": .int(offset), "id": .string("call_sim\(offset)"), "type": "function", "function": ["name": .string(call.name), "arguments": ""]]
                    ]
                ]))
            let middle = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            for fragment in [String(call.arguments[..<middle]), String(call.arguments[middle...])] where !fragment.isEmpty {
                content.append(chunk(["tool_calls": [["index": .int(offset), "function": ["arguments": .string(fragment)]]]]))
            }
        }
        var tail = [chunk([:], finish: reply.toolCalls.isEmpty ? "stop" : "tool_calls")]
        if includeUsage {
            let usage: JSONValue = [
                "id": .string(id), "object": "chat.completion.chunk", "created": 1_741_569_952, "model": .string(model), "choices": [],
                "usage": [
                    "prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens(reply)),
                    "total_tokens": .int(promptTokens + completionTokens(reply)),
                ],
            ]
            tail.append("data: \(usage.jsonString)\n\n")
        }
        tail.append("data: [DONE]\n\n")
        return StreamScript(lead: [chunk(["role": "assistant", "content": "", "refusal": .null])], content: content, tail: tail)
    }

    private func anthropicScript(_ reply: SimulatedReply) -> StreamScript {
        func event(_ name: String, _ data: JSONValue) -> String {
            "event: \(name)\ndata: \(data.jsonString)\n\n"
        }
        let start = event(
            "message_start",
            [
                "type": "message_start",
                "message": [
                    "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [], "stop_reason": .null,
                    "stop_sequence": .null,
                    "usage": ["input_tokens": .int(promptTokens), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1],
                ],
            ])
        var content: [String] = []
        var block = 0
        let words = tokens(reply.text)
        if !words.isEmpty {
            content.append(event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]]))
            content.append(event("ping", ["type": "ping"]))
            for word in words {
                content.append(
                    event("content_block_delta", ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": .string(word)]]))
            }
            content.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
            block = 1
        }
        for (offset, call) in reply.toolCalls.enumerated() {
            let index = JSONValue.int(block + offset)
            content.append(
                event(
                    "content_block_start",
                    ["type": "content_block_start", "index": index, "content_block": ["type": "tool_use", "id": .string("toolu_sim\(offset)"), "name": .string(call.name), "input": [:]]]))
            content.append(event("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "input_json_delta", "partial_json": ""]]))
            content.append(
                event("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "input_json_delta", "partial_json": .string(call.arguments)]]))
            content.append(event("content_block_stop", ["type": "content_block_stop", "index": index]))
        }
        let tail = [
            event(
                "message_delta",
                [
                    "type": "message_delta", "delta": ["stop_reason": reply.toolCalls.isEmpty ? "end_turn" : "tool_use", "stop_sequence": .null],
                    "usage": ["output_tokens": .int(completionTokens(reply))],
                ]),
            event("message_stop", ["type": "message_stop"]),
        ]
        return StreamScript(lead: [start], content: content, tail: tail)
    }
}
