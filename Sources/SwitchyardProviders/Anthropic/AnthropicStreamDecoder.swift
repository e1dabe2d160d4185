import NIOCore
import SwitchyardCore

/// Anthropic Messages SSE events → canonical events (providers.md §2.4, §9).
public struct AnthropicStreamDecoder: SSEChatStreamDecoder {
    var sse = SSEDecoder()
    private var usage: Usage?
    /// Content-block index → tool-call index (position among the message's tool calls).
    private var toolIndexByBlock: [Int: Int] = [:]
    private var completed = false

    /// Off only in tests that compare the plain-delta reader with the full decode.
    var usesPlainDeltaReader = true
    /// The last text delta's shape, which the stream's next text deltas most likely share.
    private var plainShapes = PlainTextShapeCache<Void>()

    public init() {}

    /// A text delta read without the full decode (its text, nil for none), or nil when it needs one.
    private mutating func plainDelta(_ data: String) -> String?? {
        if let (text, _) = plainShapes.text(of: data) { return .some(text.isEmpty ? nil : text) }
        guard let (text, shape) = AnthropicPlainDelta.recogniseWithShape(data, makingShape: plainShapes.wantsShapes) else { return nil }
        if let shape { plainShapes.learn(shape, context: ()) }
        return .some(text)
    }

    func checkComplete() throws(UpstreamFailure) {
        guard completed else { throw UpstreamFailure(kind: .unavailable, message: "Anthropic stream ended before message_stop") }
    }

    mutating func handle(_ event: SSEEvent, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        guard !event.data.isEmpty else { return }
        if usesPlainDeltaReader, let text = plainDelta(event.data) {
            if let text { events.append(.textDelta(text)) }
            return
        }
        let json: JSONValue
        do { json = try JSONParser.parse(event.data) } catch {
            throw UpstreamFailure(kind: .unavailable, message: "Anthropic stream event is not valid JSON")
        }
        switch json["type"]?.stringValue ?? event.event {
        case "message_start":
            let message = json["message"]
            events.append(.start(id: message?["id"]?.stringValue ?? "msg_switchyard", model: message?["model"]?.stringValue ?? ""))
            if let usageJSON = message?["usage"] {
                usage = AnthropicResponseDecoder.usage(usageJSON)
                if let usage { events.append(.usage(usage)) }
            }
        case "content_block_start":
            let index = json["index"]?.intValue ?? 0
            let block = json["content_block"]
            switch block?["type"]?.stringValue {
            case "text":
                if let text = block?["text"]?.stringValue, !text.isEmpty { events.append(.textDelta(text)) }
            case "tool_use":
                let toolIndex = toolIndexByBlock.count
                toolIndexByBlock[index] = toolIndex
                events.append(.toolCallStart(index: toolIndex, id: block?["id"]?.stringValue ?? "", name: block?["name"]?.stringValue ?? ""))
            case "thinking":
                if let text = block?["thinking"]?.stringValue, !text.isEmpty { events.append(.reasoningDelta(text)) }
            case "redacted_thinking":
                if let data = block?["data"]?.stringValue { events.append(.redactedReasoning(ReasoningSignature(family: .anthropic, value: data))) }
            default:
                break
            }
        case "content_block_delta":
            let index = json["index"]?.intValue ?? 0
            let delta = json["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                if let text = delta?["text"]?.stringValue, !text.isEmpty { events.append(.textDelta(text)) }
            case "input_json_delta":
                if let fragment = delta?["partial_json"]?.stringValue, !fragment.isEmpty, let toolIndex = toolIndexByBlock[index] {
                    events.append(.toolCallArguments(index: toolIndex, fragment: fragment))
                }
            case "thinking_delta":
                if let text = delta?["thinking"]?.stringValue, !text.isEmpty { events.append(.reasoningDelta(text)) }
            case "signature_delta":
                if let signature = delta?["signature"]?.stringValue, !signature.isEmpty {
                    events.append(.reasoningSignature(ReasoningSignature(family: .anthropic, value: signature)))
                }
            default:
                break  // citation deltas and future types have no canonical form
            }
        case "message_delta":
            if let usageJSON = json["usage"] { usage = AnthropicResponseDecoder.usage(usageJSON, previous: usage) }
            if let reason = json["delta"]?["stop_reason"]?.stringValue {
                events.append(.finish(AnthropicResponseDecoder.finishReason(reason, stopSequence: json["delta"]?["stop_sequence"]?.stringValue)))
            }
            if let usage { events.append(.usage(usage)) }
        case "message_stop":
            completed = true
        case "error":
            throw AnthropicFailure.classify(error: json["error"], status: nil)
        default:
            break  // ping, content_block_stop and future event types
        }
    }
}
