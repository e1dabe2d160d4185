public import NIOCore
public import SwitchyardCore

/// The `vertex` provider type's adapter. Vertex serves several publishers' models, each in its own wire
/// format: Google's Gemini through `generateContent` (as the Gemini API), Anthropic's Claude through
/// `rawPredict` with the Messages body (providers.md §4.1, §4.3). The publisher follows from the model.
public struct VertexProvider: ChatProvider {
    public let descriptor: ProviderDescriptor
    private let options: VertexOptions
    private let geminiEncoder = GeminiRequestEncoder()
    private let claudeEncoder: AnthropicRequestEncoder
    private let extraHeaders: [(name: String, value: String)]
    static let vendor = "Vertex AI"

    public init(config: ProviderConfig) {
        let options = config.options as? VertexOptions ?? VertexOptions()
        self.options = options
        self.descriptor = ProviderDescriptor(
            name: config.name, type: config.type, baseURL: URLPath.root(config.baseURL ?? Self.defaultBaseURL(location: options.location)))
        // Sampling semantics of the Messages API as Vertex serves it; the version itself goes in the body.
        self.claudeEncoder = AnthropicRequestEncoder(defaultMaxTokens: options.defaultMaxTokens, apiVersion: AnthropicProvider.defaultVersion)
        self.extraHeaders = config.headers
    }

    /// Regional hosts, the `global` host and the multi-region hosts (providers.md §4.1).
    public static func defaultBaseURL(location: String) -> String {
        switch location {
        case "global": "https://aiplatform.googleapis.com"
        case "us", "eu": "https://aiplatform.\(location).rep.googleapis.com"
        default: "https://\(location)-aiplatform.googleapis.com"
        }
    }

    public func publisher(of model: String) -> VertexPublisher {
        options.publishers[model] ?? (model.hasPrefix("claude") ? .anthropic : .google)
    }

    func url(model: String, method: String, publisher: VertexPublisher? = nil) -> String {
        let publisher = publisher ?? self.publisher(of: model)
        return "\(descriptor.baseURL)/\(options.apiVersion)/projects/\(URLPath.segment(options.project))/locations/\(URLPath.segment(options.location))"
            + "/publishers/\(publisher.rawValue)/models/\(URLPath.segment(model)):\(method)"
    }

    public func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        var headers = HeaderFields(extraHeaders)
        headers.replace("accept", request.stream ? "text/event-stream" : "application/json")
        switch publisher(of: model) {
        case .google:
            let body = try geminiEncoder.encode(request, model: model)
            return .json(url: url(model: model, method: request.stream ? "streamGenerateContent?alt=sse" : "generateContent"), body: body, headers: headers)
        case .anthropic:
            // The Messages body without `model` (it is in the URL) and with Vertex's version in the body.
            guard case .object(var body) = try claudeEncoder.encode(request, model: model) else {
                throw .invalidRequest("the request cannot be encoded for Claude on Vertex AI")
            }
            body["model"] = nil
            body["anthropic_version"] = .string(options.anthropicVersion)
            if let passThrough = request.passThrough, passThrough.dialect == .anthropic {
                for header in passThrough.headers where header.name.lowercased() == "anthropic-beta" { headers.add("anthropic-beta", header.value) }
            }
            return .json(url: url(model: model, method: request.stream ? "streamRawPredict" : "rawPredict"), body: .object(body), headers: headers)
        }
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        try GeminiResponseDecoder.decode(try body.parseResponseJSON(vendor: Self.vendor), vendor: Self.vendor)
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead, model: String) throws(UpstreamFailure) -> ChatResponse {
        switch publisher(of: model) {
        case .google: try decodeChatResponse(body, head: head)
        case .anthropic: try AnthropicResponseDecoder.decode(try body.parseResponseJSON(vendor: "Claude on \(Self.vendor)"))
        }
    }

    public func makeStreamDecoder() -> any ChatStreamDecoder {
        GeminiStreamDecoder(vendor: Self.vendor)
    }

    public func makeStreamDecoder(model: String) -> any ChatStreamDecoder {
        switch publisher(of: model) {
        case .google: GeminiStreamDecoder(vendor: Self.vendor)
        case .anthropic: AnthropicStreamDecoder()
        }
    }

    public func nativeDialect(model: String) -> PassThrough.Dialect? {
        publisher(of: model) == .anthropic ? .anthropic : nil
    }

    /// Vertex answers auth and quota failures in Google's shape, and Claude's own errors in Anthropic's
    /// (providers.md §4.3): the body says which.
    public func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        let json = try? body.parseJSON()
        if json?["type"]?.stringValue == "error" || json?["error"]?["type"]?.stringValue != nil {
            return AnthropicFailure.classify(head: head, body: body)
        }
        return GoogleFailure.classify(head: head, body: body, vendor: Self.vendor)
    }
}
