import NIOCore
import SwitchyardCore

/// OpenAI Chat Completions SSE chunks → canonical events (providers.md §1.5).
public struct OpenAIStreamDecoder: SSEChatStreamDecoder {
    var sse = SSEDecoder()
    private var started = false
    private var finished = false
    private var sawDone = false
    /// Tool-call ids already announced, per choice and tool index, so a repeated id is not a new call.
    private var announcedCalls: Set<Int> = []
    /// Set once the stream shows itself as the Responses API's (a request passed through to `/responses`).
    private var responses: OpenAIResponsesEventDecoder?

    /// Off only in tests that compare the plain-chunk reader with the full decode.
    var usesPlainChunkReader = true
    /// The last text chunk's shape and choice, which the stream's next text chunks most likely share.
    private var plainShapes = PlainTextShapeCache<Int>()

    public init() {}

    /// A chunk read without the full decode (its usage's value decoded), or nil when it needs the full decode.
    private mutating func plainChunk(_ data: UnsafeBufferPointer<UInt8>) -> (OpenAIPlainChunk.Reading, usage: JSONValue?)? {
        guard let (reading, shape, usage) = OpenAIPlainChunk.read(data, makingShape: plainShapes.wantsShapes) else { return nil }
        if let shape, case .text(_, let choice) = reading.content { plainShapes.learn(shape, context: choice) }
        return (reading, usage)
    }

    /// The events of a chunk read without the full decode, in the order the full decode gives them.
    private mutating func handle(_ reading: OpenAIPlainChunk.Reading, usage: JSONValue?, into events: inout [ChatEvent]) {
        // Azure opens with a chunk that has no id and no choices, only prompt filter results: not the start.
        let isFilterPreamble = (reading.id ?? "").isEmpty && !reading.hasChoice && !reading.hasUsageMember
        if !started, !isFilterPreamble {
            started = true
            events.append(.start(id: reading.id ?? "chatcmpl-switchyard", model: reading.model ?? ""))
        }
        if case .text(let text, let choice) = reading.content { events.append(.textDelta(text, choice: choice)) }
        if let reason = reading.finishReason {
            finished = true
            events.append(.finish(OpenAIResponseDecoder.finishReason(reason), choice: reading.choice))
        }
        if let usage = usage.flatMap(OpenAIResponseDecoder.usage) { events.append(.usage(usage)) }
    }

    func checkComplete() throws(UpstreamFailure) {
        // Some compatible servers close without [DONE]; a stream that reported its finish reason is complete.
        guard sawDone || finished || responses?.finished == true else {
            throw UpstreamFailure(kind: .unavailable, message: "upstream stream ended before it was complete")
        }
    }

    mutating func handle(_ event: SSEEvent, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        if event.data.withUTF8Bytes({ bytes in appendShapedText(of: bytes, into: &events) }) { return }
        guard let reading = event.data.withUTF8Bytes({ bytes in readPlainly(bytes) }) else { return try decodeFully(event.data, into: &events) }
        if let (chunk, usage) = reading { handle(chunk, usage: usage, into: &events) }
    }

    /// A chunk as the vendor's bytes, read in place; only a chunk that needs the full decode becomes a string.
    mutating func handleData(_ data: UnsafeRawBufferPointer, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        if appendShapedText(of: bytes, into: &events) { return }
        guard let reading = readPlainly(bytes) else { return try decodeFully(String(decoding: bytes, as: UTF8.self), into: &events) }
        if let (chunk, usage) = reading { handle(chunk, usage: usage, into: &events) }
    }

    /// Most chunks of a stream: the last text chunk's bytes around a new text. Their event is all they say
    /// (the stream has started, nothing finishes), so it is appended at once, with no reading to fill in.
    private mutating func appendShapedText(of bytes: UnsafeBufferPointer<UInt8>, into events: inout [ChatEvent]) -> Bool {
        guard started, responses == nil, usesPlainChunkReader, let (text, choice) = plainShapes.text(of: bytes) else { return false }
        if !text.isEmpty { events.append(.textDelta(text, choice: choice)) }
        return true
    }

    /// What a chunk says when it can be read without the full decode: nil when it needs it; `.some(nil)`
    /// when the chunk carries nothing (`[DONE]`, empty data).
    private mutating func readPlainly(_ bytes: UnsafeBufferPointer<UInt8>) -> (OpenAIPlainChunk.Reading, usage: JSONValue?)?? {
        // Checked by its first byte before the comparison: every chunk comes through here.
        if bytes.first == UInt8(ascii: "["), bytes.starts(with: "[DONE]".utf8) {
            sawDone = true
            return .some(nil)
        }
        guard !bytes.isEmpty else { return .some(nil) }
        guard responses == nil, usesPlainChunkReader, let reading = plainChunk(bytes) else { return nil }
        return .some(reading)
    }

    /// The full decode of one chunk, through its JSON tree.
    private mutating func decodeFully(_ data: String, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        let chunk: JSONValue
        do {
            chunk = try JSONParser.parse(data)
        } catch {
            throw UpstreamFailure(kind: .unavailable, message: "upstream stream chunk is not valid JSON")
        }
        if let type = chunk["type"]?.stringValue, responses != nil || type.hasPrefix("response.") {
            var decoder = responses ?? OpenAIResponsesEventDecoder()
            try decoder.handle(chunk, type: type, into: &events)
            responses = decoder
            return
        }
        if let error = chunk["error"], !error.isNull {
            throw OpenAIFailure.classifyInBand(error)
        }
        if chunk["object"]?.stringValue == "error" {
            throw OpenAIFailure.classifyInBand(chunk)
        }
        // Azure opens with a chunk that has no id and no choices, only prompt filter results: not the start.
        let isFilterPreamble = (chunk["id"]?.stringValue ?? "").isEmpty && (chunk["choices"]?.arrayValue?.isEmpty ?? true) && chunk["usage"] == nil
        if !started, !isFilterPreamble {
            started = true
            events.append(.start(id: chunk["id"]?.stringValue ?? "chatcmpl-switchyard", model: chunk["model"]?.stringValue ?? ""))
        }
        for choice in chunk["choices"]?.arrayValue ?? [] {
            let index = choice["index"]?.intValue ?? 0
            let delta = choice["delta"]
            if let logprobs = choice["logprobs"], !logprobs.isNull { events.append(.logprobs(logprobs, choice: index)) }
            if let reasoning = (delta?["reasoning_content"] ?? delta?["reasoning"])?.stringValue, !reasoning.isEmpty {
                events.append(.reasoningDelta(reasoning, choice: index))
            }
            if let text = delta?["content"]?.stringValue, !text.isEmpty { events.append(.textDelta(text, choice: index)) }
            if let refusal = delta?["refusal"]?.stringValue, !refusal.isEmpty { events.append(.refusalDelta(refusal, choice: index)) }
            for call in delta?["tool_calls"]?.arrayValue ?? [] {
                let toolIndex = call["index"]?.intValue ?? 0
                let key = index << 16 | toolIndex
                if let id = call["id"]?.stringValue, !announcedCalls.contains(key) {
                    announcedCalls.insert(key)
                    events.append(
                        .toolCallStart(index: toolIndex, id: id, name: call["function"]?["name"]?.stringValue ?? "", choice: index))
                }
                if let fragment = call["function"]?["arguments"]?.stringValue, !fragment.isEmpty {
                    events.append(.toolCallArguments(index: toolIndex, fragment: fragment, choice: index))
                }
            }
            if let reason = choice["finish_reason"]?.stringValue {
                finished = true
                events.append(.finish(OpenAIResponseDecoder.finishReason(reason), choice: index))
            }
        }
        if let usage = chunk["usage"].flatMap(OpenAIResponseDecoder.usage) {
            events.append(.usage(usage))
        }
        // Groq reports stream usage under x_groq (providers.md §7).
        if let usage = chunk["x_groq"]?["usage"].flatMap(OpenAIResponseDecoder.usage) {
            events.append(.usage(usage))
        }
    }
}
