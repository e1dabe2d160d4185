public import NIOCore
public import SwitchyardCore

/// `POST /v1/messages/count_tokens`: the Messages body without what only generation needs.
extension AnthropicProvider: TokenCountingProvider {
    public func makeCountTokensRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest? {
        var counted = request
        counted.stream = false
        let chat = try makeChatRequest(counted, model: model)
        return chat.replacing(url: descriptor.baseURL + "/v1/messages/count_tokens", body: try chat.jsonBody().keeping(anthropicCountFields))
    }

    public func decodeTokenCount(_ body: ByteBuffer, model: String) throws(UpstreamFailure) -> Int {
        try body.parseResponseJSON(vendor: "Anthropic").tokenCount(at: "input_tokens", vendor: "Anthropic")
    }
}
