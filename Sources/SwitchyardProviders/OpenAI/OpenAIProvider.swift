public import NIOCore
public import SwitchyardCore

/// The `openai` and `openai-compatible` provider types.
public struct OpenAIProvider: ChatProvider, EmbeddingsProvider {
    public let descriptor: ProviderDescriptor
    private let encoder: OpenAIRequestEncoder
    private let extraHeaders: [(name: String, value: String)]
    /// Whether common answers are read in place (``OpenAIPlainResponse``); tests compare with the full decode.
    var usesPlainResponseReader = true

    public static let defaultBaseURL = "https://api.openai.com/v1"

    public init(config: ProviderConfig) {
        let isOpenAIProper = config.type == OpenAIProviderType.openAI.typeName
        let options = config.options as? OpenAIOptions ?? OpenAIOptions()
        self.descriptor = ProviderDescriptor(name: config.name, type: config.type, baseURL: config.baseURL ?? Self.defaultBaseURL, nativeDialect: .openai)
        self.encoder = OpenAIRequestEncoder(isOpenAIProper: isOpenAIProper, requestsStreamUsage: options.requestsStreamUsage)
        self.extraHeaders = config.headers
    }

    public func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        if encoder.isOpenAIProper, let passThrough = request.passThrough, passThrough.dialect == .openaiResponses {
            // The Responses API natively, built-in tools included: the client's body with the target's model.
            var body = passThrough.body
            body["model"] = .string(model)
            return .json(url: descriptor.baseURL + "/responses", body: .object(body), headers: headers(streaming: request.stream))
        }
        if let bytes = encoder.passThroughBytes(request, model: model) {
            return .json(url: descriptor.baseURL + "/chat/completions", bytes: bytes, headers: headers(streaming: request.stream))
        }
        let body = try encoder.encode(request, model: model)
        return .json(url: descriptor.baseURL + "/chat/completions", body: body, headers: headers(streaming: request.stream))
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        if usesPlainResponseReader, let plain = OpenAIPlainResponse.decode(body) { return plain }
        let json = try body.parseResponseJSON(vendor: "OpenAI-format upstream")
        if json["object"] == "response" { return try OpenAIResponsesDecoder.decode(json) }
        return try OpenAIResponseDecoder.decode(json)
    }

    /// OpenAI's own answers go back to OpenAI clients as sent; compatible servers' answers are normalised
    /// through the canonical model (their quirks: usage under `x_groq`, missing fields, odd finish reasons).
    public func answerDialect(model: String) -> PassThrough.Dialect? {
        encoder.isOpenAIProper ? .openai : nil
    }

    /// OpenAI proper also serves the Responses API as it is.
    public func servesNatively(_ dialect: PassThrough.Dialect, model: String) -> Bool {
        dialect == .openai || (dialect == .openaiResponses && encoder.isOpenAIProper)
    }

    public func answersNatively(_ dialect: PassThrough.Dialect, model: String) -> Bool {
        answerDialect(model: model) == dialect || (dialect == .openaiResponses && encoder.isOpenAIProper)
    }

    public func makeStreamDecoder() -> any ChatStreamDecoder {
        OpenAIStreamDecoder()
    }

    public func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        OpenAIFailure.classify(head: head, body: body)
    }

    public func makeEmbeddingsRequest(_ request: EmbeddingsRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        .json(url: descriptor.baseURL + "/embeddings", body: .object(Self.embeddingsBody(request, model: model)), headers: headers(streaming: false))
    }

    /// The OpenAI embeddings body (Azure's too).
    static func embeddingsBody(_ request: EmbeddingsRequest, model: String) -> JSONObject {
        var body: JSONObject = ["model": .string(model)]
        switch request.input {
        case .text(let text): body["input"] = .string(text)
        case .texts(let texts): body["input"] = .array(texts.map { .string($0) })
        case .tokens(let tokens): body["input"] = .array(tokens.map { .int($0) })
        case .tokenBatches(let batches): body["input"] = .array(batches.map { .array($0.map { .int($0) }) })
        }
        if let format = request.encodingFormat { body["encoding_format"] = .string(format) }
        if let dimensions = request.dimensions { body["dimensions"] = .int(dimensions) }
        if let user = request.user { body["user"] = .string(user) }
        return body
    }

    public func decodeEmbeddingsResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> EmbeddingsResponse {
        try Self.decodeEmbeddings(try body.parseResponseJSON(vendor: "OpenAI-format upstream"))
    }

    /// An OpenAI embeddings answer (Azure's too).
    static func decodeEmbeddings(_ json: JSONValue) throws(UpstreamFailure) -> EmbeddingsResponse {
        guard let data = json["data"]?.arrayValue else {
            throw UpstreamFailure(kind: .unavailable, message: "embeddings response without 'data'")
        }
        let ordered = data.sorted { ($0["index"]?.intValue ?? 0) < ($1["index"]?.intValue ?? 0) }
        return EmbeddingsResponse(
            embeddings: ordered.map { $0["embedding"] ?? .null },
            model: json["model"]?.stringValue ?? "",
            promptTokens: json["usage"]?["prompt_tokens"]?.intValue ?? 0)
    }

    private func headers(streaming: Bool) -> HeaderFields {
        var headers = HeaderFields(extraHeaders)
        headers.replace("accept", streaming ? "text/event-stream" : "application/json")
        return headers
    }
}
