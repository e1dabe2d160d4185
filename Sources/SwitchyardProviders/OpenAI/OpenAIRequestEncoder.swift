public import NIOCore
public import SwitchyardCore

/// Canonical chat requests → OpenAI Chat Completions bodies.
public struct OpenAIRequestEncoder: Sendable {
    /// Whether the upstream is OpenAI itself (accepts `developer`, `max_completion_tokens`) or a compatible vendor.
    public var isOpenAIProper: Bool
    /// Whether to ask for usage in streams.
    public var requestsStreamUsage: Bool

    public init(isOpenAIProper: Bool, requestsStreamUsage: Bool) {
        self.isOpenAIProper = isOpenAIProper
        self.requestsStreamUsage = requestsStreamUsage
    }

    public func encode(_ request: ChatRequest, model: String) throws(GatewayError) -> JSONValue {
        if let passThrough = passedThrough(request) {
            return encodePassThrough(passThrough.body, request: request, model: model)
        }
        if request.sampling.topK != nil, isOpenAIProper {
            throw GatewayError.invalidRequest("top_k is not supported by OpenAI models.", parameter: "top_k")
        }
        try rejectUntranslatable(request.messages)
        var body = JSONObject()
        body.append("model", .string(model))
        var messages: [JSONValue] = []
        // Images a tool returned cannot go in its tool message: they follow the tool messages in a user turn.
        var toolImages: [(callID: String, image: ImageSource)] = []
        for message in request.messages {
            if message.role != .tool, !toolImages.isEmpty {
                messages.append(imagesTurn(toolImages))
                toolImages.removeAll()
            }
            messages.append(contentsOf: encodeMessage(message, toolImages: &toolImages))
        }
        if !toolImages.isEmpty { messages.append(imagesTurn(toolImages)) }
        body.append("messages", .array(messages))
        if !request.tools.isEmpty {
            body.append("tools", .array(request.tools.map(encodeTool)))
        }
        if let toolChoice = request.toolChoice {
            switch toolChoice {
            case .auto: body.append("tool_choice", "auto")
            case .none: body.append("tool_choice", "none")
            case .required: body.append("tool_choice", "required")
            case .function(let name): body.append("tool_choice", ["type": "function", "function": ["name": .string(name)]])
            }
        }
        if let parallel = request.parallelToolCalls, !request.tools.isEmpty { body.append("parallel_tool_calls", .bool(parallel)) }
        if let format = request.responseFormat { body.append("response_format", encodeResponseFormat(format)) }
        let sampling = request.sampling
        if let value = sampling.temperature { body.append("temperature", .double(value)) }
        if let value = sampling.topP { body.append("top_p", .double(value)) }
        if let value = sampling.topK { body.append("top_k", .int(value)) }
        if let value = sampling.frequencyPenalty { body.append("frequency_penalty", .double(value)) }
        if let value = sampling.presencePenalty { body.append("presence_penalty", .double(value)) }
        if let value = sampling.seed { body.append("seed", .int(value)) }
        if let value = request.maxTokens { body.append(isOpenAIProper ? "max_completion_tokens" : "max_tokens", .int(value)) }
        if !request.stop.isEmpty { body.append("stop", .array(request.stop.map { .string($0) })) }
        if let value = request.n { body.append("n", .int(value)) }
        if let value = request.logprobs { body.append("logprobs", .bool(value)) }
        if let value = request.topLogprobs { body.append("top_logprobs", .int(value)) }
        if let value = request.user { body.append("user", .string(value)) }
        // Only a wish to think is sent: models without reasoning refuse the field, whatever its value.
        if isOpenAIProper, let effort = request.reasoning?.effort { body.append("reasoning_effort", .string(effort.rawValue)) }
        if request.stream {
            body.append("stream", true)
            if requestsStreamUsage { body.append("stream_options", ["include_usage": true]) }
        }
        return .object(body)
    }

    /// Same-dialect pass-through when only the model changes: the client's bytes with the model's value
    /// replaced (``JSONMemberSplice``), or nil when anything else must change too (an output cap, stream
    /// usage, a compatible vendor's renames) or the splice is unsure; then ``encode(_:model:)`` writes the
    /// body out from its parsed form, with the same result as JSON.
    public func passThroughBytes(_ request: ChatRequest, model: String) -> ByteBuffer? {
        guard isOpenAIProper, let passThrough = passedThrough(request), let original = passThrough.originalBody,
            outputCapToAdd(passThrough.body, request: request) == nil, !addsStreamUsage(passThrough.body, request: request)
        else { return nil }
        return JSONMemberSplice.replacingString(member: "model", with: model, in: original)
    }

    /// The client's body, when the request goes upstream as the client wrote it. Reasoning and signed call
    /// ids in the history are this gateway's to take apart: a request that carries them is encoded afresh
    /// (unless it holds fields only pass-through can carry).
    private func passedThrough(_ request: ChatRequest) -> PassThrough? {
        guard let passThrough = request.passThrough, passThrough.dialect == .openai,
            !request.messages.carriesReasoning || !request.dialectOnlyFields.isEmpty
        else { return nil }
        return passThrough
    }

    /// A route's output cap, when the client set none (route defaults apply here as on every other path).
    private func outputCapToAdd(_ body: JSONObject, request: ChatRequest) -> Int? {
        guard let cap = request.maxTokens, body["max_completion_tokens"] == nil, body["max_tokens"] == nil else { return nil }
        return cap
    }

    /// Whether the gateway asks for stream usage the client's body does not.
    private func addsStreamUsage(_ body: JSONObject, request: ChatRequest) -> Bool {
        request.stream && requestsStreamUsage && body["stream_options"]?["include_usage"] != true
    }

    /// Same-dialect pass-through: the client's body with the model rewritten, plus what the helpers above
    /// and a compatible vendor's renames add (``passThroughBytes(_:model:)`` declines when any of them applies).
    private func encodePassThrough(_ original: JSONObject, request: ChatRequest, model: String) -> JSONValue {
        var body = original
        body["model"] = .string(model)
        if let cap = outputCapToAdd(body, request: request) {
            body[isOpenAIProper ? "max_completion_tokens" : "max_tokens"] = .int(cap)
        }
        if addsStreamUsage(body, request: request) {
            var options = body["stream_options"]?.objectValue ?? JSONObject()
            options["include_usage"] = true
            body["stream_options"] = .object(options)
        }
        if !isOpenAIProper {
            // Compatible vendors know neither `developer` nor `max_completion_tokens` (providers.md §7).
            if let cap = body["max_completion_tokens"] {
                body["max_completion_tokens"] = nil
                body["max_tokens"] = cap
            }
            if case .array(let messages)? = body["messages"] {
                body["messages"] = .array(
                    messages.map { message in
                        guard case .object(var object) = message, object["role"] == "developer" else { return message }
                        object["role"] = "system"
                        return .object(object)
                    })
            }
        }
        return .object(body)
    }

    /// What the Chat Completions API cannot carry gets a clear 400 before sending, never silence: images in
    /// system messages (text only there).
    private func rejectUntranslatable(_ messages: [ChatMessage]) throws(GatewayError) {
        func isText(_ part: ContentPart) -> Bool { if case .text = part { true } else { false } }
        for (position, message) in messages.enumerated() where message.role == .system || message.role == .developer {
            if !message.parts.allSatisfy(isText) {
                throw .invalidRequest(
                    "messages[\(position)]: OpenAI-format models take text only in system messages.", parameter: "messages[\(position)].content")
            }
        }
    }

    /// Text blocks as OpenAI takes them: one block as a string, several as text parts (never fused).
    private func textContent(_ blocks: [String]) -> JSONValue {
        blocks.count == 1 ? .string(blocks[0]) : .array(blocks.map { ["type": "text", "text": .string($0)] })
    }

    /// The user turn that carries images tool results returned, each introduced by the call it belongs to.
    private func imagesTurn(_ images: [(callID: String, image: ImageSource)]) -> JSONValue {
        var parts: [ContentPart] = []
        var lastCall: String?
        for (callID, image) in images {
            if callID != lastCall { parts.append(.text("Image returned by tool call \(callID):")) }
            lastCall = callID
            parts.append(.image(image))
        }
        return ["role": "user", "content": encodeUserContent(parts)]
    }

    private func encodeMessage(_ message: ChatMessage, toolImages: inout [(callID: String, image: ImageSource)]) -> [JSONValue] {
        switch message.role {
        case .system, .developer:
            let role = message.role == .developer && isOpenAIProper ? "developer" : "system"
            let blocks = message.parts.textBlocks
            return [withName(["role": .string(role), "content": textContent(blocks.isEmpty ? [""] : blocks)], message.name)]
        case .user:
            return [withName(["role": "user", "content": encodeUserContent(message.parts)], message.name)]
        case .assistant:
            var object: JSONObject = ["role": "assistant"]
            let text = message.text
            let calls = message.toolCalls
            object["content"] = text.isEmpty && !calls.isEmpty ? .null : .string(text)
            if !calls.isEmpty {
                object["tool_calls"] = .array(
                    calls.map { call in
                        ["id": .string(call.id), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                    })
            }
            return [withName(.object(object), message.name)]
        case .tool:
            // One message per result, as OpenAI expects; text parts of a tool message become a user message.
            var messages: [JSONValue] = []
            var trailing: [ContentPart] = []
            for part in message.parts {
                switch part {
                case .toolResult(let result):
                    var blocks = result.content.textBlocks
                    for case .image(let image) in result.content { toolImages.append((result.callID, image)) }
                    if blocks.isEmpty { blocks = [result.content.isEmpty ? "" : "(the result is the image that follows)"] }
                    // Chat Completions has no error flag on a tool result: the text says so instead.
                    if result.isError { blocks[0] = "Error: " + blocks[0] }
                    messages.append(["role": "tool", "tool_call_id": .string(result.callID), "content": textContent(blocks)])
                default:
                    trailing.append(part)
                }
            }
            if !trailing.isEmpty { messages.append(["role": "user", "content": encodeUserContent(trailing)]) }
            return messages
        }
    }

    private func withName(_ message: JSONValue, _ name: String?) -> JSONValue {
        guard let name, case .object(var object) = message else { return message }
        object["name"] = .string(name)
        return .object(object)
    }

    private func encodeUserContent(_ parts: [ContentPart]) -> JSONValue {
        if parts.count <= 1, parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
            return .string(parts.textBlocks.first ?? "")
        }
        return .array(
            parts.compactMap { part -> JSONValue? in
                switch part {
                case .text(let text): return ["type": "text", "text": .string(text)]
                case .image(let image):
                    let url: String
                    switch image.location {
                    case .url(let value): url = value
                    case .base64(let mediaType, let data): url = "data:\(mediaType);base64,\(data)"
                    }
                    var imageURL: JSONObject = ["url": .string(url)]
                    if let detail = image.detail { imageURL["detail"] = .string(detail) }
                    return ["type": "image_url", "image_url": .object(imageURL)]
                case .toolCall, .toolResult, .reasoning: return nil
                }
            })
    }

    private func encodeTool(_ tool: ToolDefinition) -> JSONValue {
        var function: JSONObject = ["name": .string(tool.name)]
        if let description = tool.description { function["description"] = .string(description) }
        if let parameters = tool.parameters { function["parameters"] = parameters }
        if let strict = tool.strict { function["strict"] = .bool(strict) }
        return ["type": "function", "function": .object(function)]
    }

    private func encodeResponseFormat(_ format: ResponseFormat) -> JSONValue {
        switch format {
        case .text: return ["type": "text"]
        case .jsonObject: return ["type": "json_object"]
        case .jsonSchema(let name, let description, let schema, let strict):
            var object: JSONObject = ["name": .string(name), "schema": schema]
            if let description { object["description"] = .string(description) }
            if let strict { object["strict"] = .bool(strict) }
            return ["type": "json_schema", "json_schema": .object(object)]
        }
    }
}
