public import NIOCore
public import SwitchyardCore

/// The `gemini` provider type's adapter: Google AI Studio's `generateContent` with `x-goog-api-key`
/// (providers.md §3).
public struct GeminiProvider: ChatProvider, EmbeddingsProvider {
    public static let defaultBaseURL = "https://generativelanguage.googleapis.com"

    public let descriptor: ProviderDescriptor
    private let apiVersion: String
    private let encoder = GeminiRequestEncoder()
    private let extraHeaders: [(name: String, value: String)]

    public init(config: ProviderConfig) {
        let options = config.options as? GeminiOptions ?? GeminiOptions()
        self.descriptor = ProviderDescriptor(name: config.name, type: config.type, baseURL: URLPath.root(config.baseURL ?? Self.defaultBaseURL))
        self.apiVersion = options.apiVersion
        self.extraHeaders = config.headers
    }

    /// `models/{model}:{method}`; a model given as `models/x` is taken as `x`.
    func url(model: String, method: String) -> String {
        let bare = model.hasPrefix("models/") ? String(model.dropFirst(7)) : model
        return "\(descriptor.baseURL)/\(apiVersion)/models/\(URLPath.segment(bare)):\(method)"
    }

    public func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        let body = try encoder.encode(request, model: model)
        let method = request.stream ? "streamGenerateContent?alt=sse" : "generateContent"
        var headers = HeaderFields(extraHeaders)
        headers.replace("accept", request.stream ? "text/event-stream" : "application/json")
        return .json(url: url(model: model, method: method), body: body, headers: headers)
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        try GeminiResponseDecoder.decode(try body.parseResponseJSON(vendor: "Gemini"), vendor: "Gemini")
    }

    public func makeStreamDecoder() -> any ChatStreamDecoder {
        GeminiStreamDecoder(vendor: "Gemini")
    }

    public func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        GoogleFailure.classify(head: head, body: body, vendor: "Gemini")
    }

    public func makeEmbeddingsRequest(_ request: EmbeddingsRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        let texts: [String]
        switch request.input {
        case .text(let text): texts = [text]
        case .texts(let list): texts = list
        case .tokens, .tokenBatches: throw .invalidRequest("Gemini embeddings take text, not token arrays.", parameter: "input")
        }
        let bare = model.hasPrefix("models/") ? String(model.dropFirst(7)) : model
        func content(_ text: String) -> JSONValue {
            var object: JSONObject = ["model": .string("models/\(bare)"), "content": ["parts": [["text": .string(text)]]]]
            if let dimensions = request.dimensions { object["outputDimensionality"] = .int(dimensions) }
            return .object(object)
        }
        var headers = HeaderFields(extraHeaders)
        headers.replace("accept", "application/json")
        if texts.count == 1 {
            return .json(url: url(model: model, method: "embedContent"), body: content(texts[0]), headers: headers)
        }
        return .json(url: url(model: model, method: "batchEmbedContents"), body: ["requests": .array(texts.map(content))], headers: headers)
    }

    public func decodeEmbeddingsResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> EmbeddingsResponse {
        let json = try body.parseResponseJSON(vendor: "Gemini")
        let vectors = json["embeddings"]?.arrayValue ?? json["embedding"].map { [$0] } ?? []
        guard !vectors.isEmpty else { throw UpstreamFailure(kind: .unavailable, message: "Gemini sent an embeddings response without embeddings") }
        return EmbeddingsResponse(embeddings: vectors.map { $0["values"] ?? [] }, model: "", promptTokens: 0)
    }
}
