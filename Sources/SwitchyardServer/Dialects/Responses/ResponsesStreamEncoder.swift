import SwitchyardCore

/// Canonical stream events → the Responses API's typed SSE events, numbered by `sequence_number`, in the
/// order the official SDKs' stream helpers assemble (providers.md §1.8): each output item is added, its
/// parts and deltas follow, and it is done before the next one begins.
struct ResponsesStreamEncoder: DialectStreamEncoder {
    private enum OpenItem {
        case none
        case reasoning(id: String, text: String)
        /// A message; `parts` are its finished content parts, `current` the one being streamed.
        case message(id: String, parts: [JSONValue], current: (isRefusal: Bool, text: String)?)
        case call(id: String, index: Int, call: ToolCall)
    }

    private let context: ResponsesContext
    private var sequence = 0
    private var model: String
    private var started = false
    private var items: [JSONValue] = []
    private var open = OpenItem.none
    private var finishReason: FinishReason?
    private var usage: Usage?
    /// The response object of a finished stream, for the conversation store.
    private(set) var answer: JSONValue?

    init(context: ResponsesContext, model: String) {
        self.context = context
        self.model = model
    }

    mutating func encode(_ event: ChatEvent, into output: inout [UInt8]) {
        if case .start(_, let upstreamModel) = event, !started { model = upstreamModel }
        begin(into: &output)
        switch event {
        case .start, .logprobs:
            return
        case .textDelta(let text, let choice), .refusalDelta(let text, let choice):
            guard choice == 0 else { return }
            var isRefusal = false
            if case .refusalDelta = event { isRefusal = true }
            appendContent(text, isRefusal: isRefusal, into: &output)
        case .reasoningDelta(let text, let choice):
            guard choice == 0 else { return }
            let itemID: String
            if case .reasoning(let id, let sofar) = open {
                itemID = id
                open = .reasoning(id: id, text: sofar + text)
            } else {
                closeItem(into: &output)
                itemID = ResponsesContext.newID(prefix: "rs_")
                open = .reasoning(id: itemID, text: text)
                emit("response.output_item.added", ["output_index": .int(items.count), "item": ["type": "reasoning", "id": .string(itemID), "summary": []]], into: &output)
                emit(
                    "response.reasoning_summary_part.added",
                    ["item_id": .string(itemID), "output_index": .int(items.count), "summary_index": 0, "part": ["type": "summary_text", "text": ""]],
                    into: &output)
            }
            emit(
                "response.reasoning_summary_text.delta",
                ["item_id": .string(itemID), "output_index": .int(items.count), "summary_index": 0, "delta": .string(text)], into: &output)
        case .reasoningSignature(let signature, let choice):
            guard choice == 0 else { return }
            if case .reasoning(let id, let text) = open {
                finishReasoning(id: id, part: ReasoningPart(text: text, signature: signature), into: &output)
            } else {
                closeItem(into: &output)
                addWhole(ResponsesOutput.reasoningItem(ReasoningPart(text: "", signature: signature), id: ResponsesContext.newID(prefix: "rs_")), into: &output)
            }
        case .redactedReasoning(let data, let choice):
            guard choice == 0 else { return }
            closeItem(into: &output)
            addWhole(
                ResponsesOutput.reasoningItem(ReasoningPart(text: "", signature: data, isRedacted: true), id: ResponsesContext.newID(prefix: "rs_")),
                into: &output)
        case .toolCallStart(let index, let callID, let name, let signature, let choice):
            guard choice == 0 else { return }
            closeItem(into: &output)
            let itemID = ResponsesContext.newID(prefix: "fc_")
            let call = ToolCall(id: callID, name: name, arguments: "", signature: signature)
            open = .call(id: itemID, index: index, call: call)
            emit(
                "response.output_item.added",
                ["output_index": .int(items.count), "item": ResponsesOutput.functionCallItem(id: itemID, call: call, status: "in_progress")], into: &output)
        case .toolCallArguments(let index, let fragment, let choice):
            guard choice == 0, case .call(let itemID, let openIndex, var call) = open, openIndex == index else { return }
            call.arguments += fragment
            open = .call(id: itemID, index: index, call: call)
            emit("response.function_call_arguments.delta", ["item_id": .string(itemID), "output_index": .int(items.count), "delta": .string(fragment)], into: &output)
        case .finish(let reason, let choice):
            guard choice == 0 else { return }
            finishReason = reason
            closeItem(into: &output)
        case .usage(let latest):
            usage = latest
        }
    }

    /// `response.completed` (or `response.incomplete`) with the whole response, as the SDK's helper expects.
    mutating func encodeEnd(into output: inout [UInt8]) {
        begin(into: &output)
        closeItem(into: &output)
        let (status, reason) = finishReason.map(ResponsesOutput.status) ?? ("completed", nil)
        let response = context.responseObject(status: status, model: model, output: items, usage: usage, incompleteReason: reason)
        answer = response
        emit(status == "incomplete" ? "response.incomplete" : "response.completed", ["response": response], into: &output)
    }

    /// An `error` event, then `response.failed` with what was produced so far.
    mutating func encodeError(_ error: GatewayError, into output: inout [UInt8]) {
        begin(into: &output)
        let failure = ResponsesOutput.errorObject(error)
        emit("error", ["code": failure["code"] ?? .null, "message": .string(error.message), "param": .null], into: &output)
        let response = context.responseObject(status: "failed", model: model, output: items, usage: usage, error: failure)
        emit("response.failed", ["response": response], into: &output)
    }

    // MARK: items

    /// `response.created` and `response.in_progress`, once, before anything else.
    private mutating func begin(into output: inout [UInt8]) {
        guard !started else { return }
        started = true
        let response = context.responseObject(status: "in_progress", model: model, output: [], usage: nil)
        emit("response.created", ["response": response], into: &output)
        emit("response.in_progress", ["response": response], into: &output)
    }

    private mutating func appendContent(_ text: String, isRefusal: Bool, into output: inout [UInt8]) {
        var itemID: String
        var parts: [JSONValue]
        var current: (isRefusal: Bool, text: String)?
        if case .message(let id, let done, let streaming) = open {
            (itemID, parts, current) = (id, done, streaming)
        } else {
            closeItem(into: &output)
            (itemID, parts, current) = (ResponsesContext.newID(prefix: "msg_"), [], nil)
            emit("response.output_item.added", ["output_index": .int(items.count), "item": ResponsesOutput.messageItem(id: itemID, parts: [], status: "in_progress")], into: &output)
        }
        if let streaming = current, streaming.isRefusal != isRefusal {
            parts.append(finishPart(streaming, itemID: itemID, contentIndex: parts.count, into: &output))
            current = nil
        }
        if current == nil {
            current = (isRefusal, "")
            emit(
                "response.content_part.added",
                [
                    "item_id": .string(itemID), "output_index": .int(items.count), "content_index": .int(parts.count),
                    "part": isRefusal ? ResponsesOutput.refusalPart("") : ResponsesOutput.textPart(""),
                ], into: &output)
        }
        current?.text += text
        var delta: JSONObject = ["item_id": .string(itemID), "output_index": .int(items.count), "content_index": .int(parts.count), "delta": .string(text)]
        if !isRefusal { delta.append("logprobs", []) }
        emit(isRefusal ? "response.refusal.delta" : "response.output_text.delta", .object(delta), into: &output)
        open = .message(id: itemID, parts: parts, current: current)
    }

    /// Ends a content part: its `.done` events; returns the finished part.
    private mutating func finishPart(_ part: (isRefusal: Bool, text: String), itemID: String, contentIndex: Int, into output: inout [UInt8]) -> JSONValue {
        let common: JSONObject = ["item_id": .string(itemID), "output_index": .int(items.count), "content_index": .int(contentIndex)]
        var done = common
        if part.isRefusal {
            done.append("refusal", .string(part.text))
            emit("response.refusal.done", .object(done), into: &output)
        } else {
            done.append("text", .string(part.text))
            done.append("logprobs", [])
            emit("response.output_text.done", .object(done), into: &output)
        }
        let finished = part.isRefusal ? ResponsesOutput.refusalPart(part.text) : ResponsesOutput.textPart(part.text)
        var partDone = common
        partDone.append("part", finished)
        emit("response.content_part.done", .object(partDone), into: &output)
        return finished
    }

    private mutating func finishReasoning(id: String, part: ReasoningPart, into output: inout [UInt8]) {
        let common: JSONObject = ["item_id": .string(id), "output_index": .int(items.count), "summary_index": 0]
        var textDone = common
        textDone.append("text", .string(part.text))
        emit("response.reasoning_summary_text.done", .object(textDone), into: &output)
        var partDone = common
        partDone.append("part", ["type": "summary_text", "text": .string(part.text)])
        emit("response.reasoning_summary_part.done", .object(partDone), into: &output)
        open = .none
        itemDone(ResponsesOutput.reasoningItem(part, id: id), into: &output)
    }

    /// Closes whatever item is open with its `.done` events.
    private mutating func closeItem(into output: inout [UInt8]) {
        switch open {
        case .none:
            return
        case .reasoning(let id, let text):
            finishReasoning(id: id, part: ReasoningPart(text: text), into: &output)
        case .message(let id, var parts, let current):
            if let current { parts.append(finishPart(current, itemID: id, contentIndex: parts.count, into: &output)) }
            open = .none
            itemDone(ResponsesOutput.messageItem(id: id, parts: parts), into: &output)
        case .call(let id, _, let call):
            emit(
                "response.function_call_arguments.done",
                ["item_id": .string(id), "output_index": .int(items.count), "name": .string(call.name), "arguments": .string(call.arguments)], into: &output)
            open = .none
            itemDone(ResponsesOutput.functionCallItem(id: id, call: call), into: &output)
        }
    }

    /// An item that arrives whole (a bare signature, redacted reasoning): added and done at once.
    private mutating func addWhole(_ item: JSONValue, into output: inout [UInt8]) {
        emit("response.output_item.added", ["output_index": .int(items.count), "item": item], into: &output)
        itemDone(item, into: &output)
    }

    private mutating func itemDone(_ item: JSONValue, into output: inout [UInt8]) {
        emit("response.output_item.done", ["output_index": .int(items.count), "item": item], into: &output)
        items.append(item)
    }

    private mutating func emit(_ type: String, _ fields: JSONValue, into output: inout [UInt8]) {
        var event: JSONObject = ["type": .string(type)]
        if case .object(let object) = fields { for (key, value) in object { event.append(key, value) } }
        event.append("sequence_number", .int(sequence))
        sequence += 1
        output.append(contentsOf: "event: \(type)\ndata: ".utf8)
        JSONValue.object(event).write(to: &output)
        output.append(contentsOf: "\n\n".utf8)
    }
}
