public import NIOCore
public import SwitchyardCore

/// Bedrock `CountTokens` (`POST /model/{modelId}/count-tokens`) with the Converse input; signed like any
/// other Bedrock call.
extension BedrockProvider: TokenCountingProvider {
    public func makeCountTokensRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest? {
        var counted = request
        counted.stream = false
        let chat = try makeChatRequest(counted, model: model)
        let converse = try chat.jsonBody().keeping(["messages", "system", "toolConfig"])
        return chat.replacing(url: url(model: model, operation: "count-tokens"), body: ["input": ["converse": .object(converse)]])
    }

    public func decodeTokenCount(_ body: ByteBuffer, model: String) throws(UpstreamFailure) -> Int {
        try body.parseResponseJSON(vendor: "Bedrock").tokenCount(at: "inputTokens", vendor: "Bedrock")
    }
}
