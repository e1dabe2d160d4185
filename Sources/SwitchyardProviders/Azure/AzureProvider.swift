public import NIOCore
public import SwitchyardCore

/// The `azure` provider type's adapter: Azure OpenAI, the dated API (deployment in the path,
/// `api-version` in the query) or the v1 API (`api_version: v1`, deployment as `model`) (providers.md §6).
/// Bodies, answers and streams are OpenAI's, with Azure's filter annotations tolerated and its content
/// filter read as such.
public struct AzureProvider: ChatProvider, EmbeddingsProvider {
    public let descriptor: ProviderDescriptor
    private let apiVersion: String
    private let encoder: OpenAIRequestEncoder
    private let extraHeaders: [(name: String, value: String)]

    public init(config: ProviderConfig) {
        let options = config.options as? AzureOptions ?? AzureOptions()
        self.descriptor = ProviderDescriptor(name: config.name, type: config.type, baseURL: URLPath.root(config.baseURL ?? ""), nativeDialect: .openai)
        self.apiVersion = options.apiVersion
        self.encoder = OpenAIRequestEncoder(isOpenAIProper: true, requestsStreamUsage: true)
        self.extraHeaders = config.headers
    }

    /// The URL of `operation` (`chat/completions`, `embeddings`) for a deployment.
    func url(deployment: String, operation: String) -> String {
        if apiVersion == "v1" { return "\(descriptor.baseURL)/openai/v1/\(operation)" }
        return "\(descriptor.baseURL)/openai/deployments/\(URLPath.segment(deployment))/\(operation)?api-version=\(URLPath.segment(apiVersion))"
    }

    private func headers(accept: String) -> HeaderFields {
        var headers = HeaderFields(extraHeaders)
        headers.replace("accept", accept)
        return headers
    }

    public func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        let body = try encoder.encode(request, model: model)
        return .json(url: url(deployment: model, operation: "chat/completions"), body: body, headers: headers(accept: request.stream ? "text/event-stream" : "application/json"))
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        if let plain = OpenAIPlainResponse.decode(body) { return plain }
        return try OpenAIResponseDecoder.decode(try body.parseResponseJSON(vendor: "Azure OpenAI"))
    }

    /// Azure's answers carry filter annotations and a preamble chunk: normalised for every client.
    public func answerDialect(model: String) -> PassThrough.Dialect? { nil }

    public func makeStreamDecoder() -> any ChatStreamDecoder {
        OpenAIStreamDecoder()
    }

    public func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        var failure = OpenAIFailure.classify(head: head, body: body)
        // Azure's 429 says "Please retry after N seconds" when the headers do not.
        if failure.retryAfter == nil, failure.kind == .rateLimited, let range = failure.message.firstRange(of: "retry after ") {
            let digits = failure.message[range.upperBound...].prefix { $0.isNumber }
            if let seconds = Double(digits.prefix(9)) { failure.retryAfter = FailureSupport.clampedWait(seconds: seconds) }
        }
        return failure
    }

    public func makeEmbeddingsRequest(_ request: EmbeddingsRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        .json(url: url(deployment: model, operation: "embeddings"), body: .object(OpenAIProvider.embeddingsBody(request, model: model)), headers: headers(accept: "application/json"))
    }

    public func decodeEmbeddingsResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> EmbeddingsResponse {
        try OpenAIProvider.decodeEmbeddings(try body.parseResponseJSON(vendor: "Azure OpenAI"))
    }
}
