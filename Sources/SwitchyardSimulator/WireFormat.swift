import Foundation
import SwitchyardCore
import SwitchyardProviders

/// The events of one simulated stream (SSE text, or binary event-stream frames): opening events, content
/// chunks, closing events.
struct StreamScript {
    var lead: [[UInt8]]
    var content: [[UInt8]]
    var tail: [[UInt8]]

    init(lead: [String], content: [String], tail: [String]) {
        self.lead = lead.map { Array($0.utf8) }
        self.content = content.map { Array($0.utf8) }
        self.tail = tail.map { Array($0.utf8) }
    }

    init(frames lead: [[UInt8]], content: [[UInt8]], tail: [[UInt8]]) {
        self.lead = lead
        self.content = content
        self.tail = tail
    }
}

/// The wire format of one simulated answer. Vertex serves two: Gemini's and, for Claude, Anthropic's.
enum SimulatedWire: Sendable {
    case openai
    case anthropic
    case gemini
    /// Bedrock's Converse: JSON answers, binary event-stream frames.
    case bedrock
}

/// Builds simulated answers in the vendor's real wire format (shapes as in shared/fixtures).
struct WireFormat {
    let wire: SimulatedWire
    /// The model asked for: from the body, or from the path for Gemini and Vertex.
    let model: String
    let request: RecordedRequest
    /// Azure's OpenAI: a filter preamble chunk and filter results on every choice.
    var azure = false

    private var id: String {
        switch wire {
        case .openai: "chatcmpl-sim\(request.rawBody.utf8.count)"
        case .anthropic: "msg_sim\(request.rawBody.utf8.count)"
        case .gemini, .bedrock: "sim-response-\(request.rawBody.utf8.count)"
        }
    }

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
    var promptTokens: Int {
        max(1, request.rawBody.split(whereSeparator: { $0 == " " || $0 == "\"" }).count / 2)
    }

    func completionTokens(_ reply: SimulatedReply) -> Int {
        tokens(reply.text).count + reply.toolCalls.count * 8
    }

    /// The reasoning to show: only when the request asked for it, as the real vendors do.
    private func reasoning(_ reply: SimulatedReply) -> String? {
        guard let reasoning = reply.reasoning else { return nil }
        switch wire {
        case .openai: return nil
        case .anthropic: return request.body?["thinking"]?["type"]?.stringValue == "enabled" ? reasoning : nil
        case .gemini: return request.body?["generationConfig"]?["thinkingConfig"]?["includeThoughts"]?.boolValue == true ? reasoning : nil
        case .bedrock: return request.body?["additionalModelRequestFields"]?["thinking"]?["type"]?.stringValue == "enabled" ? reasoning : nil
        }
    }

    static let claudeSignature = "sim-claude-signature"
    static func geminiSignature(_ offset: Int) -> String { "sim-gemini-signature-\(offset)" }

    func completeResponse(_ reply: SimulatedReply) -> JSONValue {
        switch wire {
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
            var content: [JSONValue] = []
            if let thinking = reasoning(reply) {
                content.append(["type": "thinking", "thinking": .string(thinking), "signature": .string(Self.claudeSignature)])
            }
            if !reply.text.isEmpty { content.append(["type": "text", "text": .string(reply.text)]) }
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
        case .gemini:
            var parts: [JSONValue] = []
            if let thought = reasoning(reply) { parts.append(["text": .string(thought), "thought": true]) }
            if !reply.text.isEmpty { parts.append(["text": .string(reply.text)]) }
            for (offset, call) in reply.toolCalls.enumerated() { parts.append(geminiCallPart(call, offset: offset)) }
            return [
                "candidates": [["content": ["role": "model", "parts": .array(parts)], "finishReason": "STOP", "index": 0]],
                "usageMetadata": geminiUsage(reply, final: true), "modelVersion": .string(model), "responseId": .string(id),
            ]
        case .bedrock:
            return bedrockResponse(reply)
        }
    }

    private func bedrockResponse(_ reply: SimulatedReply) -> JSONValue {
        var content: [JSONValue] = []
        if let thinking = reasoning(reply) {
            content.append(["reasoningContent": ["reasoningText": ["text": .string(thinking), "signature": .string(Self.claudeSignature)]]])
        }
        if !reply.text.isEmpty { content.append(["text": .string(reply.text)]) }
        for (offset, call) in reply.toolCalls.enumerated() {
            content.append(["toolUse": ["toolUseId": .string("tooluse_sim\(offset)"), "name": .string(call.name), "input": (try? JSONParser.parse(call.arguments)) ?? [:]]])
        }
        return [
            "output": ["message": ["role": "assistant", "content": .array(content)]], "stopReason": reply.toolCalls.isEmpty ? "end_turn" : "tool_use",
            "usage": bedrockUsage(reply), "metrics": ["latencyMs": 12],
        ]
    }

    private func bedrockUsage(_ reply: SimulatedReply) -> JSONValue {
        [
            "inputTokens": .int(promptTokens), "outputTokens": .int(completionTokens(reply)), "totalTokens": .int(promptTokens + completionTokens(reply)),
            "cacheReadInputTokens": 0, "cacheWriteInputTokens": 0,
        ]
    }

    /// ConverseStream as real binary frames: messageStart, text deltas, tool blocks, messageStop, then metadata.
    private func bedrockScript(_ reply: SimulatedReply) -> StreamScript {
        func frame(_ type: String, _ payload: JSONValue) -> [UInt8] {
            AWSEventStreamMessage(
                headers: [":event-type": type, ":content-type": "application/json", ":message-type": "event"], payload: payload.jsonBytes
            ).encoded()
        }
        var content: [[UInt8]] = []
        var block = 0
        if let thinking = reasoning(reply) {
            for word in tokens(thinking) {
                content.append(frame("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["reasoningContent": ["text": .string(word)]]]))
            }
            content.append(frame("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["reasoningContent": ["signature": .string(Self.claudeSignature)]]]))
            content.append(frame("contentBlockStop", ["contentBlockIndex": 0]))
            block = 1
        }
        let words = tokens(reply.text)
        if !words.isEmpty {
            for word in words { content.append(frame("contentBlockDelta", ["contentBlockIndex": .int(block), "delta": ["text": .string(word)]])) }
            content.append(frame("contentBlockStop", ["contentBlockIndex": .int(block)]))
            block += 1
        }
        for (offset, call) in reply.toolCalls.enumerated() {
            let index = JSONValue.int(block + offset)
            content.append(
                frame("contentBlockStart", ["contentBlockIndex": index, "start": ["toolUse": ["toolUseId": .string("tooluse_sim\(offset)"), "name": .string(call.name)]]]))
            content.append(frame("contentBlockDelta", ["contentBlockIndex": index, "delta": ["toolUse": ["input": .string(call.arguments)]]]))
            content.append(frame("contentBlockStop", ["contentBlockIndex": index]))
        }
        let tail = [
            frame("messageStop", ["stopReason": reply.toolCalls.isEmpty ? "end_turn" : "tool_use"]),
            frame("metadata", ["usage": bedrockUsage(reply), "metrics": ["latencyMs": 12]]),
        ]
        return StreamScript(frames: [frame("messageStart", ["role": "assistant"])], content: content, tail: tail)
    }

    private func geminiCallPart(_ call: (name: String, arguments: String), offset: Int) -> JSONValue {
        ["functionCall": ["name": .string(call.name), "args": (try? JSONParser.parse(call.arguments)) ?? [:]], "thoughtSignature": .string(Self.geminiSignature(offset))]
    }

    private func geminiUsage(_ reply: SimulatedReply, final: Bool) -> JSONValue {
        guard final else { return ["promptTokenCount": .int(promptTokens), "totalTokenCount": .int(promptTokens)] }
        let thoughts = reasoning(reply).map { tokens($0).count } ?? 0
        return [
            "promptTokenCount": .int(promptTokens), "candidatesTokenCount": .int(completionTokens(reply)), "thoughtsTokenCount": .int(thoughts),
            "totalTokenCount": .int(promptTokens + completionTokens(reply) + thoughts),
        ]
    }

    func streamScript(_ reply: SimulatedReply) -> StreamScript {
        switch wire {
        case .openai: openAIScript(reply)
        case .anthropic: anthropicScript(reply)
        case .gemini: geminiScript(reply)
        case .bedrock: bedrockScript(reply)
        }
    }

    /// The vendor's in-band error; for Bedrock `error` is `{"exception": "throttlingException", "message": …}`.
    func streamError(_ error: JSONValue) -> [UInt8] {
        switch wire {
        case .openai, .gemini: Array("data: \(error.jsonString)\n\n".utf8)
        case .anthropic: Array("event: error\ndata: \(error.jsonString)\n\n".utf8)
        case .bedrock:
            AWSEventStreamMessage(
                headers: [
                    ":exception-type": error["exception"]?.stringValue ?? "internalServerException", ":content-type": "application/json",
                    ":message-type": "exception",
                ], payload: (["message": error["message"] ?? "error"] as JSONValue).jsonBytes
            ).encoded()
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
        if azure {
            // Azure's filter annotations: every choice carries results; a final chunk may have a choice without delta.
            content = content.map { $0.replacingOccurrences(of: #"{"index":0,"#, with: #"{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"index":0,"#) }
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
        var lead = [chunk(["role": "assistant", "content": "", "refusal": .null])]
        if azure {
            let preamble: JSONValue = [
                "choices": [], "created": 0, "id": "", "model": "", "object": "",
                "prompt_filter_results": [["prompt_index": 0, "content_filter_results": ["hate": ["filtered": false, "severity": "safe"]]]],
            ]
            lead.insert("data: \(preamble.jsonString)\n\n", at: 0)
        }
        return StreamScript(lead: lead, content: content, tail: tail)
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
        if let thinking = reasoning(reply) {
            content.append(
                event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "thinking", "thinking": "", "signature": ""]]))
            for word in tokens(thinking) {
                content.append(
                    event("content_block_delta", ["type": "content_block_delta", "index": 0, "delta": ["type": "thinking_delta", "thinking": .string(word)]]))
            }
            content.append(
                event(
                    "content_block_delta",
                    ["type": "content_block_delta", "index": 0, "delta": ["type": "signature_delta", "signature": .string(Self.claudeSignature)]]))
            content.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
            block = 1
        }
        let words = tokens(reply.text)
        if !words.isEmpty {
            let index = JSONValue.int(block)
            content.append(event("content_block_start", ["type": "content_block_start", "index": index, "content_block": ["type": "text", "text": ""]]))
            content.append(event("ping", ["type": "ping"]))
            for word in words {
                content.append(
                    event("content_block_delta", ["type": "content_block_delta", "index": index, "delta": ["type": "text_delta", "text": .string(word)]]))
            }
            content.append(event("content_block_stop", ["type": "content_block_stop", "index": index]))
            block += 1
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

    /// Each event a whole `GenerateContentResponse` with only the new parts; the last one carries the
    /// finish reason and the full usage (providers.md §3.4).
    private func geminiScript(_ reply: SimulatedReply) -> StreamScript {
        func event(_ parts: [JSONValue], finish: Bool = false) -> String {
            var candidate: JSONObject = ["content": ["role": "model", "parts": .array(parts)]]
            if finish { candidate["finishReason"] = "STOP" }
            candidate["index"] = 0
            let response: JSONValue = [
                "candidates": [.object(candidate)], "usageMetadata": geminiUsage(reply, final: finish), "modelVersion": .string(model),
                "responseId": .string(id),
            ]
            return "data: \(response.jsonString)\r\n\r\n"  // Gemini's SSE lines end in CRLF
        }
        var content: [String] = []
        if let thought = reasoning(reply) { content += tokens(thought).map { event([["text": .string($0), "thought": true]]) } }
        content += tokens(reply.text).map { event([["text": .string($0)]]) }
        for (offset, call) in reply.toolCalls.enumerated() { content.append(event([geminiCallPart(call, offset: offset)])) }
        return StreamScript(lead: [], content: content, tail: [event([["text": ""]], finish: true)])
    }
}
