public import SwitchyardCore

/// Canonical chat requests → `generateContent` bodies, for the Gemini API and Gemini on Vertex
/// (providers.md §3.2, §3.3, §8).
public struct GeminiRequestEncoder: Sendable {
    /// Gemini 3 refuses a replayed function call without a thought signature; a call that has none (it came
    /// from another vendor, or the client dropped it) is sent with the placeholder Google documents for
    /// histories it did not produce.
    static let placeholderSignature = "skip_thought_signature_validator"

    public init() {}

    public func encode(_ request: ChatRequest, model: String) throws(GatewayError) -> JSONValue {
        var body = JSONObject()
        if let system = try systemInstruction(request.messages) { body.append("systemInstruction", system) }
        body.append("contents", .array(try contents(request.messages, model: model)))
        if !request.tools.isEmpty {
            var declarations: [JSONValue] = []
            for tool in request.tools { declarations.append(try functionDeclaration(tool)) }
            body.append("tools", [["functionDeclarations": .array(declarations)]])
            if let choice = request.toolChoice { body.append("toolConfig", ["functionCallingConfig": functionCallingConfig(choice)]) }
        }
        let generation = try generationConfig(request)
        if !generation.isEmpty { body.append("generationConfig", .object(generation)) }
        return .object(body)
    }

    // MARK: contents

    private func systemInstruction(_ messages: [ChatMessage]) throws(GatewayError) -> JSONValue? {
        var parts: [JSONValue] = []
        for (position, message) in messages.enumerated() where message.role == .system || message.role == .developer {
            for part in message.parts {
                guard case .text(let text) = part else {
                    throw .invalidRequest("messages[\(position)]: Gemini models take text only in system messages.", parameter: "messages[\(position)].content")
                }
                if !text.isEmpty { parts.append(["text": .string(text)]) }
            }
        }
        return parts.isEmpty ? nil : ["parts": .array(parts)]
    }

    /// Turns of `user` and `model`: tool results go in user turns, consecutive same-role turns merge.
    private func contents(_ messages: [ChatMessage], model: String) throws(GatewayError) -> [JSONValue] {
        var turns: [(role: String, parts: [JSONValue])] = []
        let needsCallSignatures = model.hasPrefix("gemini-3")
        for (position, message) in messages.enumerated() {
            let role: String
            var parts: [JSONValue] = []
            switch message.role {
            case .system, .developer:
                continue
            case .assistant:
                role = "model"
                parts = modelParts(message.parts, needsCallSignatures: needsCallSignatures)
            case .user, .tool:
                role = "user"
                for part in message.parts { parts.append(contentsOf: try userPart(part, position: position)) }
            }
            guard !parts.isEmpty else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].parts.append(contentsOf: parts)
            } else {
                turns.append((role, parts))
            }
        }
        guard !turns.isEmpty else { throw .invalidRequest("messages: Gemini models need at least one user or assistant message.", parameter: "messages") }
        return turns.map { ["role": .string($0.role), "parts": .array($0.parts)] }
    }

    /// An assistant turn. Gemini's signatures go back on the part they came with; a reasoning part that
    /// carried one for a following text part (how decoding keeps it) hands it on. Thought text itself is
    /// not sent back: Gemini does not take it as input.
    private func modelParts(_ content: [ContentPart], needsCallSignatures: Bool) -> [JSONValue] {
        var parts: [JSONValue] = []
        var pendingSignature: String?
        var signedCallInTurn = false
        for part in content {
            switch part {
            case .reasoning(let reasoning):
                if let signature = reasoning.signature, signature.family == .gemini { pendingSignature = signature.value }
            case .text(let text):
                guard !text.isEmpty else { continue }
                var object: JSONObject = ["text": .string(text)]
                if let signature = pendingSignature { object["thoughtSignature"] = .string(signature) }
                pendingSignature = nil
                parts.append(.object(object))
            case .toolCall(let call):
                var object: JSONObject = ["functionCall": ["name": .string(call.name), "args": Self.argumentsObject(call.arguments)]]
                if let signature = call.signature, signature.family == .gemini {
                    object["thoughtSignature"] = .string(signature.value)
                } else if let signature = pendingSignature {
                    object["thoughtSignature"] = .string(signature)
                } else if needsCallSignatures, !signedCallInTurn {
                    object["thoughtSignature"] = .string(Self.placeholderSignature)
                }
                pendingSignature = nil
                signedCallInTurn = true
                parts.append(.object(object))
            case .image(let image):
                parts.append(Self.mediaPart(image))
            case .toolResult:
                continue
            }
        }
        return parts
    }

    private func userPart(_ part: ContentPart, position: Int) throws(GatewayError) -> [JSONValue] {
        switch part {
        case .text(let text):
            return text.isEmpty ? [] : [["text": .string(text)]]
        case .image(let image):
            return [Self.mediaPart(image)]
        case .toolResult(let result):
            guard let name = result.name else {
                throw .invalidRequest(
                    "messages[\(position)]: the tool result for call '\(result.callID.prefix(100))' does not follow a call with that id, and Gemini needs the function's name.",
                    parameter: "messages[\(position)].tool_call_id")
            }
            var parts: [JSONValue] = [["functionResponse": ["name": .string(name), "response": Self.responseObject(result)]]]
            // Images a tool returned travel beside its response, in the same user turn.
            for case .image(let image) in result.content { parts.append(Self.mediaPart(image)) }
            return parts
        case .toolCall, .reasoning:
            return []
        }
    }

    /// `functionResponse.response` must be an object: a JSON object result is sent as is, anything else wrapped.
    static func responseObject(_ result: ToolResult) -> JSONValue {
        let text = result.content.joinedText
        if !result.isError, let parsed = try? JSONParser.parse(text), case .object = parsed { return parsed }
        return [result.isError ? "error" : "result": .string(text)]
    }

    static func argumentsObject(_ arguments: String) -> JSONValue {
        guard let parsed = try? JSONParser.parse(arguments), case .object = parsed else { return [:] }
        return parsed
    }

    /// Inline data for `data:` and base64 images; other URLs as `fileData` (Files-API, `gs://` or http URIs).
    static func mediaPart(_ image: ImageSource) -> JSONValue {
        if let inline = image.inlineData {
            return ["inlineData": ["mimeType": .string(inline.mediaType), "data": .string(inline.data)]]
        }
        guard case .url(let url) = image.location else { return ["text": ""] }
        return ["fileData": ["mimeType": .string(mediaType(ofURL: url)), "fileUri": .string(url)]]
    }

    private static func mediaType(ofURL url: String) -> String {
        let path = url.split(separator: "?").first.map(String.init) ?? url
        let lowered = path.lowercased()
        for (suffix, type) in [(".png", "image/png"), (".gif", "image/gif"), (".webp", "image/webp"), (".heic", "image/heic"), (".pdf", "application/pdf")]
        where lowered.hasSuffix(suffix) {
            return type
        }
        return "image/jpeg"
    }

    // MARK: tools and generation

    private func functionDeclaration(_ tool: ToolDefinition) throws(GatewayError) -> JSONValue {
        var object: JSONObject = ["name": .string(tool.name)]
        if let description = tool.description { object["description"] = .string(description) }
        if let parameters = tool.parameters {
            object["parametersJsonSchema"] = try GeminiSchema.reduce(parameters, context: "tool '\(tool.name.prefix(64))' parameters", parameter: "tools")
        }
        return .object(object)
    }

    private func functionCallingConfig(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: ["mode": "AUTO"]
        case .none: ["mode": "NONE"]
        case .required: ["mode": "ANY"]
        case .function(let name): ["mode": "ANY", "allowedFunctionNames": [.string(name)]]
        }
    }

    private func generationConfig(_ request: ChatRequest) throws(GatewayError) -> JSONObject {
        var config = JSONObject()
        let sampling = request.sampling
        if let value = sampling.temperature { config.append("temperature", .double(value)) }
        if let value = sampling.topP { config.append("topP", .double(value)) }
        if let value = sampling.topK { config.append("topK", .int(value)) }
        if let value = request.maxTokens { config.append("maxOutputTokens", .int(value)) }
        if !request.stop.isEmpty { config.append("stopSequences", .array(request.stop.map { .string($0) })) }
        if let value = request.n { config.append("candidateCount", .int(value)) }
        if let value = sampling.seed { config.append("seed", .int(value)) }
        if let value = sampling.presencePenalty { config.append("presencePenalty", .double(value)) }
        if let value = sampling.frequencyPenalty { config.append("frequencyPenalty", .double(value)) }
        if request.logprobs == true {
            config.append("responseLogprobs", true)
            if let top = request.topLogprobs { config.append("logprobs", .int(top)) }
        }
        switch request.responseFormat {
        case .jsonObject?:
            config.append("responseMimeType", "application/json")
        case .jsonSchema(let name, _, let schema, _)?:
            config.append("responseMimeType", "application/json")
            config.append("responseJsonSchema", try GeminiSchema.reduce(schema, context: "response_format '\(name.prefix(64))'", parameter: "response_format"))
        case .text?, nil:
            break
        }
        switch request.reasoning {
        case .disabled?:
            config.append("thinkingConfig", ["thinkingBudget": 0])
        case let reasoning?:
            config.append("thinkingConfig", ["thinkingBudget": .int(reasoning.budgetTokens ?? ReasoningEffort.medium.budgetTokens), "includeThoughts": true])
        case nil:
            break
        }
        return config
    }
}
