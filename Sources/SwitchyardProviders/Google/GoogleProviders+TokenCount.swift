public import NIOCore
public import SwitchyardCore

/// Gemini API `models/{model}:countTokens`, with the whole generate request (system and tools count too).
extension GeminiProvider: TokenCountingProvider {
    public func makeCountTokensRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest? {
        var counted = request
        counted.stream = false
        let chat = try makeChatRequest(counted, model: model)
        var generate = try chat.jsonBody().keeping(["contents", "systemInstruction", "tools", "toolConfig"])
        generate.append("model", .string("models/\(model)"))
        return chat.replacing(url: url(model: model, method: "countTokens"), body: ["generateContentRequest": .object(generate)])
    }

    public func decodeTokenCount(_ body: ByteBuffer, model: String) throws(UpstreamFailure) -> Int {
        try body.parseResponseJSON(vendor: "Gemini").tokenCount(at: "totalTokens", vendor: "Gemini")
    }
}

/// Vertex AI: Gemini's `:countTokens`, Claude's `count-tokens:rawPredict` (the model named in the body).
extension VertexProvider: TokenCountingProvider {
    public func makeCountTokensRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest? {
        var counted = request
        counted.stream = false
        let chat = try makeChatRequest(counted, model: model)
        let body = try chat.jsonBody()
        switch publisher(of: model) {
        case .google:
            return chat.replacing(url: url(model: model, method: "countTokens"), body: body.keeping(["contents", "systemInstruction", "tools"]))
        case .anthropic:
            var claude = body.keeping(anthropicCountFields)
            claude.append("model", .string(model))
            return chat.replacing(url: url(model: "count-tokens", method: "rawPredict", publisher: .anthropic), body: claude)
        }
    }

    public func decodeTokenCount(_ body: ByteBuffer, model: String) throws(UpstreamFailure) -> Int {
        let json = try body.parseResponseJSON(vendor: Self.vendor)
        switch publisher(of: model) {
        case .google: return try json.tokenCount(at: "totalTokens", vendor: Self.vendor)
        case .anthropic: return try json.tokenCount(at: "input_tokens", vendor: Self.vendor)
        }
    }
}
