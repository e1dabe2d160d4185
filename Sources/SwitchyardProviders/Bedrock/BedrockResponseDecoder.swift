public import NIOCore
public import SwitchyardCore

/// Converse answers → canonical (providers.md §5.3, §8.1, §8.4).
public enum BedrockResponseDecoder {
    public static func decode(_ json: JSONValue, model: String) throws(UpstreamFailure) -> ChatResponse {
        guard let content = json["output"]?["message"]?["content"]?.arrayValue else {
            throw UpstreamFailure(kind: .unavailable, message: "Bedrock response without output.message.content")
        }
        var parts: [ContentPart] = []
        for block in content {
            if let text = block["text"]?.stringValue {
                if !text.isEmpty { parts.append(.text(text)) }
            } else if let use = block["toolUse"] {
                parts.append(
                    .toolCall(
                        ToolCall(id: use["toolUseId"]?.stringValue ?? "", name: use["name"]?.stringValue ?? "", arguments: (use["input"] ?? [:]).jsonString)))
            } else if let reasoning = block["reasoningContent"] {
                if let text = reasoning["reasoningText"] {
                    let signature = text["signature"]?.stringValue.map { ReasoningSignature(family: .anthropic, value: $0) }
                    parts.append(.reasoning(ReasoningPart(text: text["text"]?.stringValue ?? "", signature: signature)))
                } else if let redacted = reasoning["redactedContent"]?.stringValue {
                    parts.append(.reasoning(ReasoningPart(text: "", signature: ReasoningSignature(family: .anthropic, value: redacted), isRedacted: true)))
                }
            }
        }
        let reason = json["stopReason"]?.stringValue
        guard let finish = finishReason(reason) else {
            throw UpstreamFailure(kind: .unavailable, message: "Bedrock could not finish the answer (\(reason ?? "?"))")
        }
        return ChatResponse(
            id: "bedrock-\(ToolCallIDs.mint())", model: model, created: currentUnixTime(),
            choices: [ChatChoice(index: 0, message: ChatMessage(role: .assistant, parts: parts), finishReason: finish)],
            usage: json["usage"].map(usage))
    }

    /// `nil` for stop reasons that mean the model failed (`malformed_*`).
    static func finishReason(_ reason: String?) -> FinishReason? {
        switch reason {
        case "max_tokens": .length
        case "model_context_window_exceeded": .contextWindowExceeded
        case "stop_sequence": .stopSequence(nil)
        case "tool_use": .toolCalls
        case "guardrail_intervened", "content_filtered": .contentFilter
        case "malformed_model_output", "malformed_tool_use": nil
        default: .stop
        }
    }

    /// Bedrock's `inputTokens` excludes cache reads and writes; the canonical prompt count includes them.
    public static func usage(_ json: JSONValue) -> Usage {
        let read = json["cacheReadInputTokens"]?.intValue ?? 0
        let write = json["cacheWriteInputTokens"]?.intValue ?? 0
        return Usage(
            promptTokens: (json["inputTokens"]?.intValue ?? 0) + read + write, completionTokens: json["outputTokens"]?.intValue ?? 0,
            cachedPromptTokens: read, cacheWritePromptTokens: write)
    }
}

/// ConverseStream's binary events → canonical events (providers.md §5.4, §9.2). Usage arrives in
/// `metadata`, after `messageStop`.
public struct BedrockStreamDecoder: ChatStreamDecoder {
    private var frames = AWSEventStreamDecoder()
    private let model: String
    private var started = false
    private var stopped = false
    /// Content-block index → tool-call index.
    private var toolIndexByBlock: [Int: Int] = [:]
    private var emittedContent = false

    public init(model: String) {
        self.model = model
    }

    public mutating func decode(_ bytes: ByteBuffer) throws(UpstreamFailure) -> [ChatEvent] {
        var events: [ChatEvent] = []
        for message in try frames.decode(bytes) { try handle(message, into: &events) }
        return events
    }

    public mutating func finish() throws(UpstreamFailure) -> [ChatEvent] {
        guard stopped, !frames.hasPartialFrame else { throw UpstreamFailure(kind: .unavailable, message: "Bedrock stream ended before messageStop") }
        return []
    }

    private mutating func handle(_ message: AWSEventStreamMessage, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        let payload = (try? JSONParser.parse(message.payload)) ?? [:]
        switch message.headers[":message-type"] {
        case "exception":
            throw BedrockFailure.classify(type: message.headers[":exception-type"] ?? "", message: payload["message"]?.stringValue, status: nil)
        case "error":
            throw BedrockFailure.classify(type: message.headers[":error-code"] ?? "", message: message.headers[":error-message"], status: nil)
        default:
            break
        }
        if !started {
            started = true
            events.append(.start(id: "bedrock-\(ToolCallIDs.mint())", model: model))
        }
        let index = payload["contentBlockIndex"]?.intValue ?? 0
        switch message.headers[":event-type"] {
        case "contentBlockStart":
            guard let use = payload["start"]?["toolUse"] else { return }
            let toolIndex = toolIndexByBlock.count
            toolIndexByBlock[index] = toolIndex
            events.append(.toolCallStart(index: toolIndex, id: use["toolUseId"]?.stringValue ?? "", name: use["name"]?.stringValue ?? ""))
            emittedContent = true
        case "contentBlockDelta":
            let delta = payload["delta"]
            if let text = delta?["text"]?.stringValue, !text.isEmpty {
                events.append(.textDelta(text))
            } else if let fragment = delta?["toolUse"]?["input"]?.stringValue, !fragment.isEmpty, let toolIndex = toolIndexByBlock[index] {
                events.append(.toolCallArguments(index: toolIndex, fragment: fragment))
            } else if let reasoning = delta?["reasoningContent"] {
                if let text = reasoning["text"]?.stringValue, !text.isEmpty { events.append(.reasoningDelta(text)) }
                if let signature = reasoning["signature"]?.stringValue { events.append(.reasoningSignature(ReasoningSignature(family: .anthropic, value: signature))) }
                if let redacted = reasoning["redactedContent"]?.stringValue {
                    events.append(.redactedReasoning(ReasoningSignature(family: .anthropic, value: redacted)))
                }
            } else {
                return
            }
            emittedContent = true
        case "messageStop":
            let reason = payload["stopReason"]?.stringValue
            guard let finish = BedrockResponseDecoder.finishReason(reason) else {
                guard emittedContent else { throw UpstreamFailure(kind: .unavailable, message: "Bedrock could not finish the answer (\(reason ?? "?"))") }
                events.append(.finish(.stop))
                stopped = true
                return
            }
            events.append(.finish(finish))
            stopped = true
        case "metadata":
            if let usage = payload["usage"] { events.append(.usage(BedrockResponseDecoder.usage(usage))) }
        default:
            break  // messageStart, contentBlockStop and future events
        }
    }
}
