public import SwitchyardCore

/// Canonical chat requests → Converse bodies (providers.md §5.2, §8).
public struct BedrockRequestEncoder: Sendable {
    public init() {}

    public func encode(_ request: ChatRequest, model: String) throws(GatewayError) -> JSONValue {
        try rejectUnsupported(request)
        var body = JSONObject()
        body.append("messages", .array(try messages(request.messages)))
        var system = request.messages.filter { $0.role == .system || $0.role == .developer }.flatMap(\.markedTextBlocks).filter { !$0.text.isEmpty }
        if case .jsonObject = request.responseFormat { system.append(("Respond with a single JSON object and nothing else.", nil)) }
        // A caching mark becomes a cache point after its block, as Converse marks them.
        if !system.isEmpty { body.append("system", .array(system.flatMap { [["text": .string($0.text)]] + ($0.cacheControl == nil ? [] : [Self.cachePoint]) })) }
        var inference = JSONObject()
        if let value = request.maxTokens { inference.append("maxTokens", .int(value)) }
        if let value = request.sampling.temperature { inference.append("temperature", .double(value)) }
        if let value = request.sampling.topP { inference.append("topP", .double(value)) }
        if !request.stop.isEmpty { inference.append("stopSequences", .array(request.stop.map { .string($0) })) }
        if !inference.isEmpty { body.append("inferenceConfig", .object(inference)) }
        if let tools = toolConfig(request) { body.append("toolConfig", tools) }
        var additional = JSONObject()
        if let topK = request.sampling.topK { additional.append("top_k", .int(topK)) }
        // Claude on Bedrock thinks through its own request field; other models ignore reasoning wishes.
        if let budget = request.reasoning?.budgetTokens, model.contains("anthropic.") {
            additional.append("thinking", ["type": "enabled", "budget_tokens": .int(budget)])
            if case .object(var config)? = body["inferenceConfig"] {
                // Thinking fixes sampling itself and needs room above its budget.
                config["temperature"] = nil
                config["topP"] = nil
                config["maxTokens"] = .int(max(request.maxTokens ?? 0, budget + (request.maxTokens ?? 4096)))
                body["inferenceConfig"] = .object(config)
            } else {
                body.append("inferenceConfig", ["maxTokens": .int(budget + 4096)])
            }
        }
        if !additional.isEmpty { body.append("additionalModelRequestFields", .object(additional)) }
        if case .jsonSchema(let name, _, let schema, _) = request.responseFormat {
            // Converse wants the schema as a string.
            body.append(
                "outputConfig",
                ["textFormat": ["type": "json_schema", "structure": ["jsonSchema": ["schema": .string(schema.jsonString), "name": .string(Self.toolName(name))]]]])
        }
        return .object(body)
    }

    private func rejectUnsupported(_ request: ChatRequest) throws(GatewayError) {
        if let n = request.n, n > 1 { throw .invalidRequest("n > 1 is not supported by Bedrock models.", parameter: "n") }
        if request.logprobs == true { throw .invalidRequest("logprobs are not supported by Bedrock models.", parameter: "logprobs") }
        if let penalty = request.sampling.frequencyPenalty, penalty != 0 {
            throw .invalidRequest("frequency_penalty is not supported by Bedrock's Converse API.", parameter: "frequency_penalty")
        }
        if let penalty = request.sampling.presencePenalty, penalty != 0 {
            throw .invalidRequest("presence_penalty is not supported by Bedrock's Converse API.", parameter: "presence_penalty")
        }
    }

    /// User/assistant turns: tool results first in the next user turn, same-role turns merged.
    private func messages(_ messages: [ChatMessage]) throws(GatewayError) -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        for (position, message) in messages.enumerated() {
            let role: String
            var blocks: [JSONValue] = []
            switch message.role {
            case .system, .developer: continue
            case .assistant: role = "assistant"
            case .user, .tool: role = "user"
            }
            for (index, part) in message.parts.enumerated() {
                let encoded = try block(part, position: position)
                blocks.append(contentsOf: encoded)
                if message.cacheMarks[index] != nil, !encoded.isEmpty { blocks.append(Self.cachePoint) }
            }
            guard !blocks.isEmpty else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].blocks.append(contentsOf: blocks)
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { turn in
            var blocks = turn.blocks
            if turn.role == "user" {
                // Results first, each keeping the cache point that follows it.
                var results: [JSONValue] = []
                var others: [JSONValue] = []
                var lastWasResult = false
                for block in blocks {
                    if block["toolResult"] != nil || (block["cachePoint"] != nil && lastWasResult) {
                        results.append(block)
                        lastWasResult = block["toolResult"] != nil
                    } else {
                        others.append(block)
                        lastWasResult = false
                    }
                }
                blocks = results + others
            }
            return ["role": .string(turn.role), "content": .array(blocks)]
        }
    }

    private func block(_ part: ContentPart, position: Int) throws(GatewayError) -> [JSONValue] {
        switch part {
        case .text(let text):
            return text.isEmpty ? [] : [["text": .string(text)]]
        case .image(let image):
            return [try Self.image(image, position: position)]
        case .toolCall(let call):
            let input = (try? JSONParser.parse(call.arguments)).flatMap { $0.objectValue.map(JSONValue.object) } ?? [:]
            return [["toolUse": ["toolUseId": .string(Self.toolUseID(call.id)), "name": .string(Self.toolName(call.name)), "input": input]]]
        case .toolResult(let result):
            var content: [JSONValue] = []
            for item in result.content {
                switch item {
                case .text(let text):
                    // A JSON object result is sent as `json`, as Bedrock's own clients do.
                    if let parsed = try? JSONParser.parse(text), case .object = parsed { content.append(["json": parsed]) } else if !text.isEmpty {
                        content.append(["text": .string(text)])
                    }
                case .image(let image):
                    content.append(try Self.image(image, position: position))
                default:
                    continue
                }
            }
            // An error result must have content (providers.md §5.2).
            if content.isEmpty { content = [["text": .string(result.isError ? "error" : "")]] }
            return [["toolResult": ["toolUseId": .string(Self.toolUseID(result.callID)), "content": .array(content), "status": result.isError ? "error" : "success"]]]
        case .reasoning(let reasoning):
            // Only Claude's signed reasoning goes back; Bedrock serves Claude with the same signatures.
            guard let signature = reasoning.signature, signature.family == .anthropic else { return [] }
            if reasoning.isRedacted { return [["reasoningContent": ["redactedContent": .string(signature.value)]]] }
            return [["reasoningContent": ["reasoningText": ["text": .string(reasoning.text), "signature": .string(signature.value)]]]]
        }
    }

    /// Converse's prompt-caching breakpoint: everything before it is cached.
    static let cachePoint: JSONValue = ["cachePoint": ["type": "default"]]

    /// Converse takes images as bytes with a format; web URLs are not fetched by the gateway.
    static func image(_ image: ImageSource, position: Int) throws(GatewayError) -> JSONValue {
        guard let inline = image.inlineData else {
            throw .invalidRequest(
                "messages[\(position)]: Bedrock models take images inline (base64 or a data: URL), not by web URL.", parameter: "messages[\(position)].content")
        }
        let format = inline.mediaType.split(separator: "/").last.map(String.init) ?? "png"
        guard ["png", "jpeg", "gif", "webp"].contains(format == "jpg" ? "jpeg" : format) else {
            throw .invalidRequest("messages[\(position)]: Bedrock takes png, jpeg, gif or webp images, not \(inline.mediaType).", parameter: "messages[\(position)].content")
        }
        return ["image": ["format": .string(format == "jpg" ? "jpeg" : format), "source": ["bytes": .string(inline.data)]]]
    }

    /// Tools and tool choice. Converse has no `none`: the tools are left out then, but a history with tool
    /// blocks still needs a `toolConfig`, so the tools (or ones named after the history's calls) stay.
    private func toolConfig(_ request: ChatRequest) -> JSONValue? {
        let historyNames = Set(request.messages.flatMap(\.toolCalls).map(\.name))
        var tools = request.tools.map { tool -> JSONValue in
            var spec: JSONObject = ["name": .string(Self.toolName(tool.name))]
            if let description = tool.description { spec["description"] = .string(description) }
            spec["inputSchema"] = ["json": tool.parameters ?? ["type": "object", "properties": [:]]]
            return ["toolSpec": .object(spec)]
        }
        if let marked = request.tools.lastIndex(where: { $0.cacheControl != nil }) { tools.insert(Self.cachePoint, at: marked + 1) }
        if tools.isEmpty {
            guard !historyNames.isEmpty else { return nil }
            tools = historyNames.sorted().map { ["toolSpec": ["name": .string(Self.toolName($0)), "inputSchema": ["json": ["type": "object"]]]] }
            return ["tools": .array(tools)]
        }
        if request.toolChoice == ToolChoice.none, historyNames.isEmpty { return nil }
        var config: JSONObject = ["tools": .array(tools)]
        switch request.toolChoice {
        case .auto?: config["toolChoice"] = ["auto": [:]]
        case .required?: config["toolChoice"] = ["any": [:]]
        case .function(let name)?: config["toolChoice"] = ["tool": ["name": .string(Self.toolName(name))]]
        case .none?, nil: break
        }
        return .object(config)
    }

    /// `[a-zA-Z0-9_.:-]{1,64}`: other ids are rewritten deterministically (the same for a call and its result).
    static func toolUseID(_ id: String) -> String {
        sanitized(id, extra: "_.:-", limit: 64)
    }

    /// `[a-zA-Z0-9_-]{1,64}`.
    static func toolName(_ name: String) -> String {
        sanitized(name, extra: "_-", limit: 64)
    }

    private static func sanitized(_ text: String, extra: String, limit: Int) -> String {
        func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
            (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))) || extra.unicodeScalars.contains(scalar)
        }
        if !text.isEmpty, text.utf8.count <= limit, text.unicodeScalars.allSatisfy(isAllowed) { return text }
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map { isAllowed($0) ? $0 : "_" }))
        // A stable hash keeps two ids apart once cleaned or cut short.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let suffix = String(hash, radix: 36)
        return String(cleaned.prefix(limit - suffix.count - 1)) + "_" + suffix
    }
}
