public import Foundation
public import NIOCore
public import SwitchyardCore

/// The `bedrock` provider type's adapter: Converse and ConverseStream (providers.md §5).
public struct BedrockProvider: ChatProvider {
    public let descriptor: ProviderDescriptor
    private let encoder = BedrockRequestEncoder()
    private let extraHeaders: [(name: String, value: String)]

    public init(config: ProviderConfig) {
        let options = config.options as? BedrockOptions ?? BedrockOptions()
        self.descriptor = ProviderDescriptor(
            name: config.name, type: config.type, baseURL: URLPath.root(config.baseURL ?? "https://bedrock-runtime.\(options.region).amazonaws.com"))
        self.extraHeaders = config.headers
    }

    /// `/model/{modelId}/{operation}`, the id percent-encoded (`:` and `/` of profiles and ARNs included).
    func url(model: String, operation: String) -> String {
        "\(descriptor.baseURL)/model/\(URLPath.segment(model))/\(operation)"
    }

    public func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest {
        let body = try encoder.encode(request, model: model)
        var headers = HeaderFields(extraHeaders)
        headers.replace("accept", request.stream ? "application/vnd.amazon.eventstream" : "application/json")
        return .json(url: url(model: model, operation: request.stream ? "converse-stream" : "converse"), body: body, headers: headers)
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        try BedrockResponseDecoder.decode(try body.parseResponseJSON(vendor: "Bedrock"), model: "")
    }

    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead, model: String) throws(UpstreamFailure) -> ChatResponse {
        try BedrockResponseDecoder.decode(try body.parseResponseJSON(vendor: "Bedrock"), model: model)
    }

    public func makeStreamDecoder() -> any ChatStreamDecoder {
        BedrockStreamDecoder(model: "")
    }

    public func makeStreamDecoder(model: String) -> any ChatStreamDecoder {
        BedrockStreamDecoder(model: model)
    }

    public func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        BedrockFailure.classify(head: head, body: body)
    }
}

/// AWS credentials that sign each request with SigV4 as it leaves, on the bytes that go on the wire.
public struct SigV4Credential: Credential {
    private let signer: SigV4Signer
    private let now: @Sendable () -> Date

    public init(signer: SigV4Signer, now: @escaping @Sendable () -> Date = { Date() }) {
        self.signer = signer
        self.now = now
    }

    public func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure) {
        signer.sign(&request, date: now())
    }
}
