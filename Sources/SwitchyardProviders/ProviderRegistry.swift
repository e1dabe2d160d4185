public import SwitchyardCore

/// Builds the adapter and credentials of each provider type. Adding a vendor adds one case here.
public struct ProviderRegistry: Sendable {
    private let transports: any UpstreamTransportFactory
    private let redactor: SecretRedactor

    /// - Parameters:
    ///   - transports: gives each provider the transport for its connection policy (its calls and its
    ///     credentials' token requests).
    ///   - redactor: learns the tokens credentials mint at run time.
    public init(transports: any UpstreamTransportFactory, redactor: SecretRedactor = SecretRedactor()) {
        self.transports = transports
        self.redactor = redactor
    }

    /// - Parameter breaker: circuit-breaker settings for each credential.
    public func makeRuntime(for config: ProviderConfig, breaker: CircuitBreakerConfig = CircuitBreakerConfig()) throws(ConfigError) -> ProviderRuntime {
        let transport = transports.transport(for: ConnectionPolicy(provider: config))
        switch config.type {
        case .openai, .openaiCompatible:
            let credentials: [any Credential] =
                config.keys.isEmpty
                ? [NoCredential()]
                : config.keys.map { APIKeyCredential(key: $0, header: "authorization", prefix: "Bearer ") }
            return ProviderRuntime(
                config: config, adapter: OpenAIProvider(config: config), credentials: credentials, transport: transport, breaker: breaker)
        case .anthropic:
            return ProviderRuntime(
                config: config, adapter: AnthropicProvider(config: config), credentials: anthropicCredentials(config, transport: transport),
                transport: transport, breaker: breaker)
        case .gemini, .vertex, .bedrock, .azure:
            throw ConfigError(path: "providers.\(config.name).type", message: "provider type '\(config.type.rawValue)' is not supported yet")
        }
    }

    private func anthropicCredentials(_ config: ProviderConfig, transport: any UpstreamTransport) -> [any Credential] {
        var credentials: [any Credential] = config.keys.map { APIKeyCredential(key: $0, header: "x-api-key") }
        if let oauth = config.oauth {
            credentials.append(OAuth2Credential(config: oauth, transport: transport, redactor: redactor))
        }
        return credentials
    }
}
