public import SwitchyardCore

/// The provider types of this build. Adding a vendor adds its folder and one line to ``types``.
public struct ProviderRegistry: Sendable {
    /// Every implemented provider type.
    public static let types: [any ProviderTypeDefinition] = [
        OpenAIProviderType.openAI,
        OpenAIProviderType.compatible,
        AnthropicProviderType(),
        GeminiProviderType(),
        VertexProviderType(),
        AzureProviderType(),
        BedrockProviderType(),
    ]

    /// Types the contract names that this build does not implement yet (refused with "not supported yet").
    public static let plannedTypes: [String] = []

    /// The config schema of every type, for ``SwitchyardCore/ConfigLoader``.
    public static let catalog = ProviderTypeCatalog(types, planned: plannedTypes)

    private let transports: any UpstreamTransportFactory
    private let redactor: SecretRedactor
    private let timeSource: any TimeSource

    /// - Parameters:
    ///   - transports: gives each provider the transport for its connection policy (its calls and its
    ///     credentials' token requests).
    ///   - redactor: learns the tokens credentials mint at run time.
    ///   - timeSource: the router's clock, which also times token expiry.
    public init(transports: any UpstreamTransportFactory, redactor: SecretRedactor = SecretRedactor(), timeSource: any TimeSource = SystemTimeSource()) {
        self.transports = transports
        self.redactor = redactor
        self.timeSource = timeSource
    }

    /// - Parameter breaker: circuit-breaker settings for each credential.
    public func makeRuntime(for config: ProviderConfig, breaker: CircuitBreakerConfig = CircuitBreakerConfig()) throws(ConfigError) -> ProviderRuntime {
        guard let type = Self.types.first(where: { $0.typeName == config.type }) else {
            throw ConfigError(path: "providers.\(config.name).type", message: "provider type '\(config.type)' is not supported yet")
        }
        let context = ProviderBuildContext(
            transport: transports.transport(for: ConnectionPolicy(provider: config)), redactor: redactor, breaker: breaker, timeSource: timeSource)
        return try type.makeRuntime(for: config, context: context)
    }
}
