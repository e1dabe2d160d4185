import NIOCore
import SwitchyardCore

extension UpstreamRequest {
    /// The JSON body of a request this gateway encoded (count requests reuse the chat encoders).
    func jsonBody() throws(GatewayError) -> JSONValue {
        guard let body, let json = try? JSONParser.parse(body.readableBytesView) else { throw .invalidRequest("the request could not be encoded") }
        return json
    }

    /// This request sent to `url` with `body` instead, headers kept (versions, beta flags).
    func replacing(url: String, body: JSONObject) -> UpstreamRequest {
        var headers = self.headers
        headers.replace("accept", "application/json")
        return .json(url: url, body: .object(body), headers: headers)
    }
}

/// What Anthropic's `count_tokens` takes of a Messages body (it refuses `max_tokens`, sampling and `stream`).
let anthropicCountFields: Set<String> = ["model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "anthropic_version"]
