import SwitchyardCore

/// Anthropic Messages request bodies → canonical requests (providers.md §2.2).
enum AnthropicRequestDecoder {
    private static let canonicalFields: Set<String> = [
        "model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "top_k", "tools", "tool_choice",
        "metadata", "stream", "output_config", "thinking",
    ]
    private static let ignorableFields: Set<String> = ["service_tier"]

    static func decode(_ body: JSONValue, headers: [(name: String, value: String)]) throws(GatewayError) -> ChatRequest {
        let root = FieldReader(body)
        let model = try root.required("model").string()
        guard !model.isEmpty else { throw GatewayError.invalidRequest("model: must not be empty", parameter: "model") }
        var dialectOnly: [String] = []
        var messages: [ChatMessage] = []
        if let system = root.field("system") {
            let blocks = try systemBlocks(system)
            if !blocks.isEmpty {
                var message = ChatMessage(role: .system, parts: blocks.map { .text($0.text) })
                for (index, block) in blocks.enumerated() { if let mark = block.cacheControl { message.cacheMarks[index] = mark } }
                messages.append(message)
            }
        }
        let messageReaders = try root.required("messages").elements()
        guard !messageReaders.isEmpty else { throw GatewayError.invalidRequest("messages: must contain at least one message", parameter: "messages") }
        for reader in messageReaders { messages.append(contentsOf: try decodeMessage(reader, dialectOnly: &dialectOnly)) }

        var request = ChatRequest(model: model, messages: messages)
        request.maxTokens = try root.field("max_tokens")?.int(in: 1...100_000_000)
        request.stop = try root.field("stop_sequences")?.strings() ?? []
        request.sampling.temperature = try root.field("temperature")?.double(in: 0...1)
        request.sampling.topP = try root.field("top_p")?.double(in: 0...1)
        request.sampling.topK = try root.field("top_k")?.int(in: 0...1_000_000)
        if let tools = root.field("tools") {
            for tool in try tools.elements() {
                if let type = try tool.field("type")?.string(), type != "custom" {
                    // Server tools (web search, code execution…) exist only at Anthropic.
                    dialectOnly.append("\(tool.path) (\(type))")
                    continue
                }
                let schema = try tool.field("input_schema").map { reader throws(GatewayError) in JSONValue.object(try reader.object()) }
                var definition = ToolDefinition(
                    name: try tool.required("name").string(), description: try tool.field("description")?.string(), parameters: schema,
                    strict: try tool.field("strict")?.bool())
                definition.cacheControl = tool.field("cache_control")?.value
                request.tools.append(definition)
            }
        }
        if let choice = root.field("tool_choice") {
            let typeReader = try choice.required("type")
            switch try typeReader.string() {
            case "auto": request.toolChoice = .auto
            case "any": request.toolChoice = .required
            case "none": request.toolChoice = ToolChoice.none
            case "tool": request.toolChoice = .function(try choice.required("name").string())
            case let other: throw typeReader.invalid("unknown tool_choice type '\(other)'")
            }
            if try choice.field("disable_parallel_tool_use")?.bool() == true { request.parallelToolCalls = false }
        }
        request.user = try root.field("metadata")?.field("user_id")?.string()
        if let format = root.field("output_config")?.field("format") {
            let schema = try format.required("schema").object()
            request.responseFormat = .jsonSchema(name: "response", description: nil, schema: .object(schema), strict: true)
        }
        if let thinking = root.field("thinking") { request.reasoning = try decodeThinking(thinking) }
        request.stream = try root.field("stream")?.bool() ?? false
        request.includeUsage = true
        guard case .object(let object) = body else { return request }
        dialectOnly.append(
            contentsOf: object.compactMap { key, value in !canonicalFields.contains(key) && !ignorableFields.contains(key) && !value.isNull ? key : nil })
        request.dialectOnlyFields = dialectOnly
        request.passThrough = PassThrough(dialect: .anthropic, body: object, headers: headers)
        return request
    }

    /// The system prompt's blocks, each kept on its own with its caching mark.
    private static func systemBlocks(_ reader: FieldReader) throws(GatewayError) -> [(text: String, cacheControl: JSONValue?)] {
        if case .string(let text) = reader.value { return text.isEmpty ? [] : [(text, nil)] }
        var blocks: [(text: String, cacheControl: JSONValue?)] = []
        for block in try reader.elements() {
            let type = try block.required("type").string()
            guard type == "text" else { throw block.invalid("system blocks must be text blocks") }
            blocks.append((try block.required("text").string(), block.field("cache_control")?.value))
        }
        return blocks
    }

    /// One Anthropic message; a user message carrying tool results becomes `.tool` messages (first) and a user message.
    private static func decodeMessage(_ reader: FieldReader, dialectOnly: inout [String]) throws(GatewayError) -> [ChatMessage] {
        _ = try reader.object()
        let roleReader = try reader.required("role")
        let role: ChatMessage.Role
        switch try roleReader.string() {
        case "user": role = .user
        case "assistant": role = .assistant
        case "system": role = .system
        case let other: throw roleReader.invalid("unknown role '\(other)' (expected user or assistant)")
        }
        let content = try reader.required("content")
        if case .string(let text) = content.value { return [.text(role, text)] }
        var parts: [ContentPart] = []
        var results: [ContentPart] = []
        var marks: [Int: JSONValue] = [:]
        var resultMarks: [Int: JSONValue] = [:]
        for block in try content.elements() {
            let typeReader = try block.required("type")
            let type = try typeReader.string()
            defer {
                // A caching mark belongs to the part the block became (a result is a message of its own).
                if let mark = block.field("cache_control")?.value {
                    if type == "tool_result", !results.isEmpty { resultMarks[results.count - 1] = mark } else if !parts.isEmpty { marks[parts.count - 1] = mark }
                }
            }
            switch type {
            case "text":
                parts.append(.text(try block.required("text").string()))
            case "image":
                parts.append(.image(try decodeImage(block.required("source"))))
            case "tool_use":
                guard role == .assistant else { throw block.invalid("tool_use blocks belong in assistant messages") }
                let input = try block.field("input").map { reader throws(GatewayError) in JSONValue.object(try reader.object()) } ?? .object(JSONObject())
                let (id, signature) = ToolCall.split(clientID: try block.required("id").string())
                parts.append(.toolCall(ToolCall(id: id, name: try block.required("name").string(), arguments: input.jsonString, signature: signature)))
            case "tool_result":
                guard role == .user else { throw block.invalid("tool_result blocks belong in user messages") }
                var resultParts: [ContentPart] = []
                if let resultContent = block.field("content") {
                    if case .string(let text) = resultContent.value {
                        resultParts = [.text(text)]
                    } else {
                        for item in try resultContent.elements() {
                            switch try item.required("type").string() {
                            case "text": resultParts.append(.text(try item.required("text").string()))
                            case "image": resultParts.append(.image(try decodeImage(item.required("source"))))
                            case let other: dialectOnly.append("\(item.path) (\(other))")
                            }
                        }
                    }
                }
                results.append(
                    .toolResult(
                        ToolResult(
                            callID: ToolCall.split(clientID: try block.required("tool_use_id").string()).id, content: resultParts,
                            isError: try block.field("is_error")?.bool() ?? false)))
            case "thinking":
                guard role == .assistant else { throw block.invalid("thinking blocks belong in assistant messages") }
                let signature = try block.field("signature").map { reader throws(GatewayError) in try reader.string() }
                parts.append(
                    .reasoning(
                        ReasoningPart(
                            text: try block.field("thinking")?.string() ?? "",
                            signature: signature.flatMap { $0.isEmpty ? nil : ReasoningSignature(clientToken: $0) })))
            case "redacted_thinking":
                guard role == .assistant else { throw block.invalid("redacted_thinking blocks belong in assistant messages") }
                let data = try block.required("data").string()
                parts.append(.reasoning(ReasoningPart(text: "", signature: ReasoningSignature(clientToken: data), isRedacted: true)))
            default:
                dialectOnly.append("\(block.path) (\(type))")
            }
        }
        var messages: [ChatMessage] = results.enumerated().map { index, result in
            var message = ChatMessage(role: .tool, parts: [result])
            if let mark = resultMarks[index] { message.cacheMarks[0] = mark }
            return message
        }
        if !parts.isEmpty || results.isEmpty {
            var message = ChatMessage(role: role, parts: parts)
            message.cacheMarks = marks
            messages.append(message)
        }
        return messages
    }

    /// `thinking: {type: enabled, budget_tokens}`, `{type: disabled}` or `{type: adaptive}` (the model decides;
    /// a medium effort for vendors that need a number).
    private static func decodeThinking(_ reader: FieldReader) throws(GatewayError) -> ReasoningRequest {
        let typeReader = try reader.required("type")
        switch try typeReader.string() {
        case "enabled": return .budget(tokens: try reader.required("budget_tokens").int(in: 1024...100_000_000))
        case "disabled": return .disabled
        case "adaptive": return .effort(.medium)
        case let other: throw typeReader.invalid("unknown thinking type '\(other)' (expected enabled, disabled or adaptive)")
        }
    }

    private static func decodeImage(_ source: FieldReader) throws(GatewayError) -> ImageSource {
        let typeReader = try source.required("type")
        switch try typeReader.string() {
        case "base64":
            return ImageSource(location: .base64(mediaType: try source.required("media_type").string(), data: try source.required("data").string()))
        case "url":
            return ImageSource(location: .url(try source.required("url").string()))
        case let other:
            throw typeReader.invalid("unsupported image source type '\(other)'")
        }
    }
}
