import SwitchyardCore

/// OpenAI Responses request bodies → canonical requests (providers.md §1.8).
///
/// A conversation continued with `previous_response_id` arrives here already expanded: the earlier turns'
/// input and output items come first in `items`, as the vendor would replay them.
enum ResponsesRequestDecoder {
    /// Fields mapped into the canonical model or handled by the gateway itself.
    private static let canonicalFields: Set<String> = [
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning", "max_output_tokens",
        "temperature", "top_p", "metadata", "stream", "store", "previous_response_id", "user", "include", "stream_options", "top_logprobs",
        "truncation",
    ]
    /// Bookkeeping fields other vendors may ignore.
    private static let ignorableFields: Set<String> = ["prompt_cache_key", "safety_identifier", "service_tier", "prompt_cache_retention"]
    /// Stateful features the gateway does not offer on translated targets: refused with a clear 400.
    private static let unsupportedFields: [String: String] = [
        "background": "background responses are not supported by the gateway",
        "conversation": "the Conversations API is not supported by the gateway; use previous_response_id",
        "prompt": "stored prompt templates are not supported by the gateway",
    ]
    /// Most items one request may carry, history included: bounds memory and the work of a translation.
    static let maximumItems = 10_000

    /// The input items of `body` in their list form (a string input is one user message).
    static func inputItems(of body: JSONValue) throws(GatewayError) -> [JSONValue] {
        let reader = try FieldReader(body).required("input")
        switch reader.value {
        case .string(let text): return [["type": "message", "role": "user", "content": .string(text)]]
        case .array(let items): return items
        default: throw reader.invalid("expected a string or an array of items, found \(reader.value.typeName)")
        }
    }

    static func decode(_ body: JSONValue, items: [JSONValue]) throws(GatewayError) -> ChatRequest {
        let root = FieldReader(body)
        let model = try root.required("model").string()
        guard !model.isEmpty else { throw GatewayError.invalidRequest("model: must not be empty", parameter: "model") }
        guard !items.isEmpty else { throw GatewayError.invalidRequest("input: must contain at least one item", parameter: "input") }
        guard items.count <= maximumItems else {
            throw GatewayError.invalidRequest("input: the conversation holds more than \(maximumItems) items", parameter: "input")
        }
        if case .object(let object) = body {
            for (field, value) in object where !value.isNull {
                guard let reason = unsupportedFields[field] else { continue }
                if field == "background", value.boolValue == false { continue }
                throw GatewayError.invalidRequest("\(field): \(reason).", parameter: field)
            }
        }
        var messages: [ChatMessage] = []
        if let instructions = root.field("instructions") {
            let text = try instructions.string()
            if !text.isEmpty { messages.append(.text(.system, text)) }
        }
        var dialectOnly: [String] = []
        var builder = ConversationBuilder()
        for (offset, item) in items.enumerated() {
            try builder.add(FieldReader(item, path: "input[\(offset)]"), dialectOnly: &dialectOnly)
        }
        messages.append(contentsOf: builder.finish())

        var request = ChatRequest(model: model, messages: messages)
        if let tools = root.field("tools") {
            for tool in try tools.elements() {
                let type = try tool.required("type").string()
                guard type == "function" else {
                    // Built-in tools (web search, file search, code interpreter…) run inside the vendor.
                    dialectOnly.append("\(tool.path) (\(type))")
                    continue
                }
                let parameters = try tool.field("parameters").map { reader throws(GatewayError) in JSONValue.object(try reader.object()) }
                request.tools.append(
                    ToolDefinition(
                        name: try tool.required("name").string(), description: try tool.field("description")?.string(), parameters: parameters,
                        strict: try tool.field("strict")?.bool()))
            }
        }
        if let choice = root.field("tool_choice") { request.toolChoice = try decodeToolChoice(choice, request: &request, dialectOnly: &dialectOnly) }
        request.parallelToolCalls = try root.field("parallel_tool_calls")?.bool()
        if let format = root.field("text")?.field("format") { request.responseFormat = try decodeFormat(format) }
        if let effort = root.field("reasoning")?.field("effort") {
            let text = try effort.string()
            if text == "none" {
                request.reasoning = .disabled
            } else if let level = ReasoningEffort(rawValue: text) {
                request.reasoning = .effort(level)
            } else {
                throw effort.invalid("expected none, minimal, low, medium or high")
            }
        }
        request.maxTokens = try root.field("max_output_tokens")?.int(in: 1...100_000_000)
        request.sampling.temperature = try root.field("temperature")?.double(in: 0...2)
        request.sampling.topP = try root.field("top_p")?.double(in: 0...1)
        let safetyIdentifier = try root.field("safety_identifier")?.string()
        let user = try root.field("user")?.string()
        request.user = safetyIdentifier ?? user
        if let metadata = root.field("metadata") {
            let object = try metadata.object()
            guard object.count <= 16 else { throw metadata.invalid("at most 16 pairs are allowed") }
            for (key, value) in object {
                guard key.utf8.count <= 64, let text = value.stringValue, text.utf8.count <= 512 else {
                    throw metadata.invalid("keys must be strings of at most 64 characters and values strings of at most 512")
                }
            }
        }
        if let truncation = root.field("truncation") {
            let mode = try truncation.string()
            guard mode == "disabled" || mode == "auto" else { throw truncation.invalid("expected auto or disabled") }
        }
        request.stream = try root.field("stream")?.bool() ?? false
        request.includeUsage = true
        guard case .object(let object) = body else { return request }
        dialectOnly.append(
            contentsOf: object.compactMap { key, value in
                !canonicalFields.contains(key) && !ignorableFields.contains(key) && unsupportedFields[key] == nil && !value.isNull ? key : nil
            })
        request.dialectOnlyFields = dialectOnly
        return request
    }

    private static func decodeToolChoice(
        _ reader: FieldReader, request: inout ChatRequest, dialectOnly: inout [String]
    ) throws(GatewayError) -> ToolChoice? {
        if case .string(let text) = reader.value {
            switch text {
            case "auto": return .auto
            case "none": return ToolChoice.none
            case "required": return .required
            default: throw reader.invalid("expected auto, none, required or an object")
            }
        }
        let type = try reader.required("type").string()
        switch type {
        case "function":
            return .function(try reader.required("name").string())
        case "allowed_tools":
            var names: Set<String> = []
            for tool in try reader.required("tools").elements() {
                let toolType = try tool.required("type").string()
                guard toolType == "function" else {
                    dialectOnly.append("\(tool.path) (\(toolType))")
                    continue
                }
                names.insert(try tool.required("name").string())
            }
            for name in names where !request.tools.contains(where: { $0.name == name }) {
                throw reader.invalid("allowed tool '\(name.prefix(64))' is not among the request's tools")
            }
            request.tools = request.tools.filter { names.contains($0.name) }
            return try reader.field("mode")?.string() == "required" ? .required : .auto
        default:
            // Forcing a built-in tool only makes sense where that tool exists.
            dialectOnly.append("\(reader.path) (\(type))")
            return nil
        }
    }

    private static func decodeFormat(_ reader: FieldReader) throws(GatewayError) -> ResponseFormat {
        let typeReader = try reader.required("type")
        switch try typeReader.string() {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            return .jsonSchema(
                name: try reader.required("name").string(), description: try reader.field("description")?.string(),
                schema: .object(try reader.required("schema").object()), strict: try reader.field("strict")?.bool())
        case let other:
            throw typeReader.invalid("unknown text format '\(other)' (expected text, json_object or json_schema)")
        }
    }
}

/// Folds Responses input items into canonical messages: an assistant's reasoning, text and function calls
/// become one assistant message, each function call output a tool message.
private struct ConversationBuilder {
    private var messages: [ChatMessage] = []
    /// The assistant turn being assembled from consecutive output items.
    private var assistant: [ContentPart] = []

    mutating func add(_ item: FieldReader, dialectOnly: inout [String]) throws(GatewayError) {
        _ = try item.object()
        let type = try item.field("type")?.string() ?? "message"
        switch type {
        case "message":
            let roleReader = try item.required("role")
            let role = try roleReader.string()
            let content = try item.required("content")
            switch role {
            case "assistant":
                assistant.append(contentsOf: try Self.assistantContent(content))
            case "user", "system", "developer":
                flushAssistant()
                let parts = try Self.inputContent(content, dialectOnly: &dialectOnly)
                let canonicalRole: ChatMessage.Role = role == "user" ? .user : role == "system" ? .system : .developer
                messages.append(ChatMessage(role: canonicalRole, parts: parts))
            default:
                throw roleReader.invalid("unknown role '\(role)' (expected user, assistant, system or developer)")
            }
        case "function_call":
            let (id, signature) = ToolCall.split(clientID: try item.required("call_id").string())
            assistant.append(
                .toolCall(ToolCall(id: id, name: try item.required("name").string(), arguments: try item.field("arguments")?.string() ?? "{}", signature: signature)))
        case "function_call_output":
            flushAssistant()
            let callID = ToolCall.split(clientID: try item.required("call_id").string()).id
            let output = try item.required("output")
            let parts: [ContentPart]
            if case .string(let text) = output.value { parts = [.text(text)] } else { parts = try Self.inputContent(output, dialectOnly: &dialectOnly) }
            messages.append(ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: callID, content: parts))]))
        case "reasoning":
            assistant.append(contentsOf: try Self.reasoning(item))
        case "web_search_call", "file_search_call":
            // A record of a search the vendor ran for an earlier answer: that answer's text holds what it
            // found, so another vendor continuing the conversation loses nothing without it.
            return
        default:
            // Built-in tool calls and their outputs (web_search_call, file_search_call…), item references.
            dialectOnly.append("\(item.path) (\(type))")
        }
    }

    mutating func finish() -> [ChatMessage] {
        flushAssistant()
        return messages
    }

    private mutating func flushAssistant() {
        guard !assistant.isEmpty else { return }
        messages.append(ChatMessage(role: .assistant, parts: assistant))
        assistant = []
    }

    /// A reasoning item: its summary text, and the signature its vendor needs back (carried in
    /// `encrypted_content`, see ``ResponsesOutput/reasoningItem(_:id:)``).
    private static func reasoning(_ item: FieldReader) throws(GatewayError) -> [ContentPart] {
        var text = ""
        if let summary = item.field("summary") {
            for part in try summary.elements() { text += try part.field("text")?.string() ?? "" }
        }
        guard let token = try item.field("encrypted_content")?.string(), !token.isEmpty else {
            return text.isEmpty ? [] : [.reasoning(ReasoningPart(text: text))]
        }
        if token.hasPrefix(ResponsesOutput.redactedPrefix) {
            let data = String(token.dropFirst(ResponsesOutput.redactedPrefix.count))
            return [.reasoning(ReasoningPart(text: "", signature: ReasoningSignature(clientToken: data), isRedacted: true))]
        }
        return [.reasoning(ReasoningPart(text: text, signature: ReasoningSignature(clientToken: token)))]
    }

    /// An assistant message's earlier answer: its output text (blocks kept apart) and refusals.
    private static func assistantContent(_ reader: FieldReader) throws(GatewayError) -> [ContentPart] {
        if case .string(let text) = reader.value { return text.isEmpty ? [] : [.text(text)] }
        var parts: [ContentPart] = []
        for part in try reader.elements() {
            let type = try part.required("type").string()
            switch type {
            case "output_text", "input_text", "text": parts.append(.text(try part.required("text").string()))
            case "refusal": parts.append(.text(try part.required("refusal").string()))
            default: throw part.invalid("content part type '\(type)' is not allowed in an assistant message")
            }
        }
        return parts
    }

    private static func inputContent(_ reader: FieldReader, dialectOnly: inout [String]) throws(GatewayError) -> [ContentPart] {
        if case .string(let text) = reader.value { return [.text(text)] }
        var parts: [ContentPart] = []
        for part in try reader.elements() {
            let type = try part.required("type").string()
            switch type {
            case "input_text", "output_text", "text":
                parts.append(.text(try part.required("text").string()))
            case "input_image":
                guard let urlReader = part.field("image_url") else {
                    dialectOnly.append("\(part.path) (input_image by file_id)")
                    continue
                }
                let url = try urlReader.string()
                guard url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("data:") else {
                    throw urlReader.invalid("expected an http(s) or data: URL")
                }
                let detail = try part.field("detail")?.string()
                parts.append(.image(ImageSource(location: .url(url), detail: detail == "auto" ? nil : detail)))
            default:
                dialectOnly.append("\(part.path) (\(type))")
            }
        }
        return parts
    }
}
