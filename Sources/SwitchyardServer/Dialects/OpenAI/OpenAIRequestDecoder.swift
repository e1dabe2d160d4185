import SwitchyardCore

/// OpenAI Chat Completions and Embeddings request bodies → canonical requests (providers.md §1.2–1.3, §1.6).
enum OpenAIRequestDecoder {
    /// Fields mapped into the canonical model; any other top-level field travels only by pass-through.
    private static let canonicalFields: Set<String> = [
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format", "temperature", "top_p", "top_k",
        "frequency_penalty", "presence_penalty", "seed", "stop", "n", "logprobs", "top_logprobs", "user", "max_tokens",
        "max_completion_tokens", "stream", "stream_options", "functions", "function_call", "reasoning_effort",
    ]
    /// OpenAI fields that other providers may safely ignore (bookkeeping, not behaviour).
    private static let ignorableFields: Set<String> = ["store", "metadata", "prompt_cache_key", "safety_identifier", "service_tier"]

    static func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)]) throws(GatewayError) -> ChatRequest {
        let root = FieldReader(body)
        let model = try root.required("model").string()
        guard !model.isEmpty else { throw GatewayError.invalidRequest("model: must not be empty", parameter: "model") }
        let messageReaders = try root.required("messages").elements()
        guard !messageReaders.isEmpty else { throw GatewayError.invalidRequest("messages: must contain at least one message", parameter: "messages") }
        var messages: [ChatMessage] = []
        for reader in messageReaders { messages.append(try decodeMessage(reader)) }

        var request = ChatRequest(model: model, messages: messages)
        if let tools = root.field("tools") {
            for tool in try tools.elements() { request.tools.append(try decodeTool(tool)) }
        } else if let functions = root.field("functions") {
            for function in try functions.elements() { request.tools.append(try decodeFunction(function)) }
        }
        if let choice = root.field("tool_choice") ?? root.field("function_call") {
            request.toolChoice = try decodeToolChoice(choice)
            if let allowed = try allowedToolNames(choice) {
                // `allowed_tools` narrows what the model may call: only those tools are offered, never all of them.
                for name in allowed where !request.tools.contains(where: { $0.name == name }) {
                    throw choice.invalid("allowed tool '\(name.prefix(64))' is not among the request's tools")
                }
                request.tools = request.tools.filter { allowed.contains($0.name) }
            }
        }
        request.parallelToolCalls = try root.field("parallel_tool_calls")?.bool()
        if let format = root.field("response_format") { request.responseFormat = try decodeResponseFormat(format) }
        request.sampling.temperature = try root.field("temperature")?.double(in: 0...2)
        request.sampling.topP = try root.field("top_p")?.double(in: 0...1)
        request.sampling.topK = try root.field("top_k")?.int(in: 0...1_000_000)
        request.sampling.frequencyPenalty = try root.field("frequency_penalty")?.double(in: -2...2)
        request.sampling.presencePenalty = try root.field("presence_penalty")?.double(in: -2...2)
        request.sampling.seed = try root.field("seed")?.int()
        if let stop = root.field("stop") {
            request.stop = try stop.strings()
            if request.stop.count > 4 { throw stop.invalid("at most 4 stop sequences are allowed") }
        }
        request.n = try root.field("n")?.int(in: 1...128)
        request.logprobs = try root.field("logprobs")?.bool()
        request.topLogprobs = try root.field("top_logprobs")?.int(in: 0...20)
        request.user = try root.field("user")?.string()
        if let effort = root.field("reasoning_effort") { request.reasoning = try decodeReasoningEffort(effort) }
        request.maxTokens = try (root.field("max_completion_tokens") ?? root.field("max_tokens"))?.int(in: 1...100_000_000)
        request.stream = try root.field("stream")?.bool() ?? false
        if let options = root.field("stream_options") {
            _ = try options.object()
            request.includeUsage = try options.field("include_usage")?.bool() ?? false
        }
        guard case .object(let object) = body else { return request }
        request.dialectOnlyFields = object.compactMap { key, value in
            !canonicalFields.contains(key) && !ignorableFields.contains(key) && !value.isNull ? key : nil
        }
        request.passThrough = PassThrough(dialect: .openai, body: object, headers: headers)
        return request
    }

    private static func decodeMessage(_ reader: FieldReader) throws(GatewayError) -> ChatMessage {
        _ = try reader.object()
        let roleReader = try reader.required("role")
        let roleText = try roleReader.string()
        let name = try reader.field("name")?.string()
        switch roleText {
        case "system", "developer":
            let role: ChatMessage.Role = roleText == "system" ? .system : .developer
            return ChatMessage(role: role, parts: try textParts(reader.required("content")), name: name)
        case "user":
            return ChatMessage(role: .user, parts: try userContent(reader.required("content")), name: name)
        case "assistant":
            var parts = try decodeReasoning(reader)
            if let content = reader.field("content") {
                let text = try textContent(content, allowRefusal: true)
                if !text.isEmpty { parts.append(.text(text)) }
            }
            if let calls = reader.field("tool_calls") {
                for call in try calls.elements() {
                    let function = try call.required("function")
                    let (id, signature) = ToolCall.split(clientID: try call.required("id").string())
                    parts.append(
                        .toolCall(
                            ToolCall(
                                id: id, name: try function.required("name").string(),
                                arguments: try function.field("arguments")?.string() ?? "{}", signature: signature)))
                }
            } else if let call = reader.field("function_call") {
                let callName = try call.required("name").string()
                parts.append(.toolCall(ToolCall(id: "call_\(callName)", name: callName, arguments: try call.field("arguments")?.string() ?? "{}")))
            }
            return ChatMessage(role: .assistant, parts: parts, name: name)
        case "tool":
            let callID = ToolCall.split(clientID: try reader.required("tool_call_id").string()).id
            let content = try reader.field("content").map { reader throws(GatewayError) in try textParts(reader) } ?? [.text("")]
            return ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: callID, content: content))])
        case "function":
            let callName = try reader.required("name").string()
            let text = try reader.field("content").map { reader throws(GatewayError) in try textContent(reader) } ?? ""
            return ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "call_\(callName)", content: [.text(text)]))])
        default:
            throw roleReader.invalid("unknown role '\(roleText)' (expected system, developer, user, assistant or tool)")
        }
    }

    /// An assistant message's reasoning: `thinking_blocks` (signed, as this gateway and others hand them
    /// out) or else plain `reasoning_content`, which no vendor can verify and only some accept back.
    private static func decodeReasoning(_ message: FieldReader) throws(GatewayError) -> [ContentPart] {
        if let blocks = message.field("thinking_blocks") {
            var parts: [ContentPart] = []
            for block in try blocks.elements() {
                let typeReader = try block.required("type")
                switch try typeReader.string() {
                case "thinking":
                    let signature = try block.field("signature").map { reader throws(GatewayError) in ReasoningSignature(clientToken: try reader.string()) }
                    parts.append(.reasoning(ReasoningPart(text: try block.field("thinking")?.string() ?? "", signature: signature)))
                case "redacted_thinking":
                    let data = try block.required("data").string()
                    parts.append(.reasoning(ReasoningPart(text: "", signature: ReasoningSignature(clientToken: data), isRedacted: true)))
                case let other:
                    throw typeReader.invalid("unknown thinking block type '\(other)' (expected thinking or redacted_thinking)")
                }
            }
            return parts
        }
        guard let text = try message.field("reasoning_content")?.string(), !text.isEmpty else { return [] }
        return [.reasoning(ReasoningPart(text: text))]
    }

    private static func decodeReasoningEffort(_ reader: FieldReader) throws(GatewayError) -> ReasoningRequest {
        let text = try reader.string()
        if text == "none" { return .disabled }
        guard let effort = ReasoningEffort(rawValue: text) else { throw reader.invalid("expected none, minimal, low, medium or high") }
        return .effort(effort)
    }

    /// A string, or an array of text parts kept apart (a system prompt or tool result given in blocks).
    private static func textParts(_ reader: FieldReader) throws(GatewayError) -> [ContentPart] {
        if case .string(let text) = reader.value { return [.text(text)] }
        var parts: [ContentPart] = []
        for part in try reader.elements() {
            let type = try part.required("type").string()
            guard type == "text" else { throw part.invalid("content part type '\(type)' is not allowed here") }
            parts.append(.text(try part.required("text").string()))
        }
        return parts.isEmpty ? [.text("")] : parts
    }

    /// A string, or an array of text parts joined together (an assistant's own earlier answer).
    private static func textContent(_ reader: FieldReader, allowRefusal: Bool = false) throws(GatewayError) -> String {
        if case .string(let text) = reader.value { return text }
        var text = ""
        for part in try reader.elements() {
            let type = try part.required("type").string()
            switch type {
            case "text": text += try part.required("text").string()
            case "refusal" where allowRefusal: text += try part.required("refusal").string()
            default: throw part.invalid("content part type '\(type)' is not allowed here")
            }
        }
        return text
    }

    private static func userContent(_ reader: FieldReader) throws(GatewayError) -> [ContentPart] {
        if case .string(let text) = reader.value { return [.text(text)] }
        var parts: [ContentPart] = []
        for part in try reader.elements() {
            let type = try part.required("type").string()
            switch type {
            case "text":
                parts.append(.text(try part.required("text").string()))
            case "image_url":
                let image = try part.required("image_url")
                let url: String
                if case .string(let bare) = image.value { url = bare } else { url = try image.required("url").string() }
                guard url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("data:") else {
                    throw image.invalid("expected an http(s) or data: URL")
                }
                parts.append(.image(ImageSource(location: .url(url), detail: try image.field("detail")?.string())))
            default:
                throw part.invalid("content part type '\(type)' is not supported by the gateway")
            }
        }
        return parts
    }

    private static func decodeTool(_ reader: FieldReader) throws(GatewayError) -> ToolDefinition {
        let type = try reader.field("type")?.string() ?? "function"
        guard type == "function" else { throw reader.invalid("tool type '\(type)' is not supported (only function)") }
        return try decodeFunction(reader.required("function"))
    }

    private static func decodeFunction(_ reader: FieldReader) throws(GatewayError) -> ToolDefinition {
        let parameters = try reader.field("parameters").map { reader throws(GatewayError) in JSONValue.object(try reader.object()) }
        return ToolDefinition(
            name: try reader.required("name").string(), description: try reader.field("description")?.string(),
            parameters: parameters, strict: try reader.field("strict")?.bool())
    }

    private static func decodeToolChoice(_ reader: FieldReader) throws(GatewayError) -> ToolChoice {
        if case .string(let text) = reader.value {
            switch text {
            case "auto": return .auto
            case "none": return .none
            case "required": return .required
            default: throw reader.invalid("expected auto, none, required or an object")
            }
        }
        if let function = reader.field("function") { return .function(try function.required("name").string()) }
        if let name = reader.field("name") { return .function(try name.string()) }
        if let allowed = reader.field("allowed_tools") {
            return try allowed.field("mode")?.string() == "required" ? .required : .auto
        }
        throw reader.invalid("expected {\"type\":\"function\",\"function\":{\"name\":…}}")
    }

    /// The names an `allowed_tools` tool choice lists, if it is one.
    private static func allowedToolNames(_ reader: FieldReader) throws(GatewayError) -> Set<String>? {
        guard let allowed = reader.field("allowed_tools") else { return nil }
        var names: Set<String> = []
        for tool in try allowed.required("tools").elements() {
            let nameReader: FieldReader
            if let function = tool.field("function") { nameReader = try function.required("name") } else { nameReader = try tool.required("name") }
            names.insert(try nameReader.string())
        }
        return names
    }

    private static func decodeResponseFormat(_ reader: FieldReader) throws(GatewayError) -> ResponseFormat {
        let typeReader = try reader.required("type")
        switch try typeReader.string() {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            let schema = try reader.required("json_schema")
            return .jsonSchema(
                name: try schema.required("name").string(), description: try schema.field("description")?.string(),
                schema: .object(try schema.field("schema")?.object() ?? JSONObject()), strict: try schema.field("strict")?.bool())
        case let other:
            throw typeReader.invalid("unknown response format '\(other)'")
        }
    }

    static func decodeEmbeddings(_ body: JSONValue) throws(GatewayError) -> EmbeddingsRequest {
        let root = FieldReader(body)
        let model = try root.required("model").string()
        let inputReader = try root.required("input")
        let input: EmbeddingsRequest.Input
        switch inputReader.value {
        case .string(let text):
            input = .text(text)
        case .array(let items) where items.isEmpty:
            throw inputReader.invalid("must not be empty")
        case .array(let items):
            if items.allSatisfy({ $0.stringValue != nil }) {
                input = .texts(items.compactMap(\.stringValue))
            } else if items.allSatisfy({ $0.intValue != nil }) {
                input = .tokens(items.compactMap(\.intValue))
            } else if items.allSatisfy({ $0.arrayValue?.allSatisfy { $0.intValue != nil } == true }) {
                input = .tokenBatches(items.compactMap { $0.arrayValue?.compactMap(\.intValue) })
            } else {
                throw inputReader.invalid("expected a string, an array of strings, or token arrays")
            }
        default:
            throw inputReader.invalid("expected a string or an array, found \(inputReader.value.typeName)")
        }
        let format = try root.field("encoding_format")?.string()
        if let format, format != "float", format != "base64" {
            throw GatewayError.invalidRequest("encoding_format: expected float or base64", parameter: "encoding_format")
        }
        return EmbeddingsRequest(
            model: model, input: input, encodingFormat: format, dimensions: try root.field("dimensions")?.int(in: 1...100_000),
            user: try root.field("user")?.string())
    }
}
