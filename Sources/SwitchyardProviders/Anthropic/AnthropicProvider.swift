public import NIOCore
public import SwitchyardCore

/// The `anthropic` provider type: the Messages API with `x-api-key` or an OAuth2 bearer token.
public struct AnthropicProvider: ChatProvider {
    public let descriptor: ProviderDescriptor
    private let encoder: AnthropicRequestEncoder
    private let extraHeaders: [(name: String, value: String)]

    public static let defaultBaseURL = "https://api.anthropic.com"
    public static let defaultVersion = "2023-06-01"

    public init(config: ProviderConfig) {
        let options = config.options as? AnthropicOptions ?? AnthropicOptions()
        self.descriptor = ProviderDescriptor(name: config.name, type: config.type, baseURL: config.baseURL ?? Self.defaultBaseURL, nativeDialect: .anthropic)
        self.encoder = AnthropicRequestEncoder(
            defaultMaxTokens: options.defaultMaxTokens ?? AnthropicRequestEncoder.fallbackMaxTokens, apiVersion: options.apiVersion ?? Self.defaultVersion)
        self.extraHeaders = config.headers
    }

    public func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        let body = try encoder.encode(request, model: model)
        var headers = HeaderFields(extraHeaders)
        headers.replace("anthropic-version", encoder.apiVersion)
        headers.replace("accept", request.stream ? "text/event-stream" : "application/json")
        // Beta flags the client asked for travel with the request when it came in the same dialect.
        if let passThrough = request.passThrough, passThrough.dialect == .anthropic {
            for header in passThrough.headers where header.name.lowercased() == "anthropic-beta" {
                headers.add("anthropic-beta", header.value)
            }
        }
        return .json(url: descriptor.baseURL + "/v1/messages", body: body, headers: headers)
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        let json = try body.parseResponseJSON(vendor: "Anthropic")
        return try AnthropicResponseDecoder.decode(json)
    }

    public func makeStreamDecoder() -> any ChatStreamDecoder {
        AnthropicStreamDecoder()
    }

    public func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        AnthropicFailure.classify(head: head, body: body)
    }
}
