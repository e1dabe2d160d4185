import NIOCore
import SwitchyardCore

/// `streamGenerateContent?alt=sse` → canonical events (providers.md §3.4, §9.2). Each event is a whole
/// `GenerateContentResponse` holding only the new parts, so parts become deltas as they are; a function
/// call arrives whole and becomes a start plus one arguments fragment. Usage is the last one seen.
public struct GeminiStreamDecoder: SSEChatStreamDecoder {
    private let vendor: String
    var sse = SSEDecoder()
    private var started = false
    /// Tool calls announced so far, by candidate.
    private var callCounts: [Int: Int] = [:]
    /// Candidates that have emitted content, so a failure finish reason after content ends the stream
    /// instead of failing it.
    private var emittedContent: Set<Int> = []
    private var finished = false

    public init(vendor: String) {
        self.vendor = vendor
    }

    func checkComplete() throws(UpstreamFailure) {
        guard finished else { throw UpstreamFailure(kind: .unavailable, message: "\(vendor) stream ended before a finish reason") }
    }

    mutating func handle(_ event: SSEEvent, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        guard !event.data.isEmpty else { return }
        let json: JSONValue
        do { json = try JSONParser.parse(event.data) } catch {
            throw UpstreamFailure(kind: .unavailable, message: "\(vendor) stream event is not valid JSON")
        }
        if let error = json["error"], !error.isNull { throw GoogleFailure.classify(error: error, status: nil, vendor: vendor) }
        let candidates = json["candidates"]?.arrayValue ?? []
        if !started {
            if candidates.isEmpty, json["promptFeedback"]?["blockReason"] != nil { throw GeminiResponseDecoder.blockedPrompt(json, vendor: vendor) }
            started = true
            events.append(.start(id: json["responseId"]?.stringValue ?? "gemini-\(ToolCallIDs.mint())", model: json["modelVersion"]?.stringValue ?? ""))
        }
        for (offset, candidate) in candidates.enumerated() {
            let choice = candidate["index"]?.intValue ?? offset
            guard (0..<128).contains(choice) else { continue }  // an upstream cannot make us track unbounded choices
            for part in candidate["content"]?["parts"]?.arrayValue ?? [] { decodePart(part, choice: choice, into: &events) }
            if let reason = candidate["finishReason"]?.stringValue {
                let hasCalls = (callCounts[choice] ?? 0) > 0
                guard let finish = GeminiResponseDecoder.finishReason(reason, hasToolCalls: hasCalls) else {
                    // Nothing shown yet: the attempt failed and may fail over. After content: end as best we can.
                    guard emittedContent.contains(choice) else {
                        throw UpstreamFailure(kind: .unavailable, message: "\(vendor) could not finish the answer (\(reason))")
                    }
                    events.append(.finish(.stop, choice: choice))
                    finished = true
                    continue
                }
                events.append(.finish(finish, choice: choice))
                finished = true
            }
        }
        if let usage = json["usageMetadata"] { events.append(.usage(GeminiResponseDecoder.usage(usage))) }
    }

    private mutating func decodePart(_ part: JSONValue, choice: Int, into events: inout [ChatEvent]) {
        let signature = part["thoughtSignature"]?.stringValue.map { ReasoningSignature(family: .gemini, value: $0) }
        if part["thought"]?.boolValue == true {
            if let text = part["text"]?.stringValue, !text.isEmpty { events.append(.reasoningDelta(text, choice: choice)) }
            if let signature { events.append(.reasoningSignature(signature, choice: choice)) }
        } else if let call = part["functionCall"] {
            let toolCall = GeminiResponseDecoder.toolCall(call, signature: signature)
            let index = callCounts[choice, default: 0]
            callCounts[choice] = index + 1
            events.append(.toolCallStart(index: index, id: toolCall.id, name: toolCall.name, signature: toolCall.signature, choice: choice))
            events.append(.toolCallArguments(index: index, fragment: toolCall.arguments, choice: choice))
        } else if let text = part["text"]?.stringValue {
            if let signature { events.append(.reasoningSignature(signature, choice: choice)) }
            guard !text.isEmpty else { return }
            events.append(.textDelta(text, choice: choice))
        } else {
            return
        }
        emittedContent.insert(choice)
    }
}
