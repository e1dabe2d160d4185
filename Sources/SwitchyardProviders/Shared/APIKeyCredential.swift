public import SwitchyardCore

/// A static secret sent in one header (`Authorization: Bearer …`, `x-api-key: …`).
public struct APIKeyCredential: Credential {
    private let headerName: String
    private let headerValue: String

    /// - Parameters:
    ///   - key: the secret.
    ///   - header: the header to send it in.
    ///   - prefix: text before the key in the header value (`"Bearer "`).
    public init(key: String, header: String, prefix: String = "") {
        self.headerName = header
        self.headerValue = prefix + key
    }

    public func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure) {
        request.headers.replace(headerName, headerValue)
    }
}

/// For upstreams that need no authentication (a local Ollama or vLLM).
public struct NoCredential: Credential {
    public init() {}
    public func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure) {}
}
