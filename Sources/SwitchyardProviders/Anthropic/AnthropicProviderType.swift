public import SwitchyardCore

/// The `anthropic` provider type: `x-api-key` keys and, optionally, an OAuth2 bearer credential.
///
/// Config keys beyond the shared ones: `anthropic_version` (string, default `2023-06-01`), `max_tokens`
/// (integer 1…10,000,000, default 4096: sent when the client gives none, as the Messages API requires
/// one), `oauth` (an OAuth2 token endpoint and grant, see ``OAuth2Config/read(_:)``). It needs `keys` or `oauth`.
public struct AnthropicProviderType: ProviderTypeDefinition {
    public init() {}

    public var typeName: String { "anthropic" }
    public var optionKeys: Set<String> { ["anthropic_version", "max_tokens", "oauth"] }

    public func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = AnthropicOptions()
        if let value = section.value("anthropic_version") { options.apiVersion = value.string() }
        if let value = section.value("max_tokens") { options.defaultMaxTokens = value.int(range: 1...10_000_000) }
        if let value = section.value("oauth") { options.oauth = OAuth2Config.read(value) }
        if section.provider.keys.isEmpty, options.oauth == nil, section.value("oauth") == nil {
            section.report("keys", "a provider of type anthropic needs at least one key (or an oauth section)")
        }
        return options
    }

    public func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime {
        let options = config.options as? AnthropicOptions ?? AnthropicOptions()
        var credentials: [any Credential] = config.keys.map { APIKeyCredential(key: $0, header: "x-api-key") }
        if let oauth = options.oauth {
            credentials.append(OAuth2Credential(config: oauth, transport: context.transport, timeSource: context.timeSource, redactor: context.redactor))
        }
        return ProviderRuntime(
            config: config, adapter: AnthropicProvider(config: config), credentials: credentials, transport: context.transport, breaker: context.breaker)
    }
}

/// Options of the `anthropic` type.
public struct AnthropicOptions: ProviderOptions {
    /// The `anthropic-version` header; `nil` means ``AnthropicProvider/defaultVersion``.
    public var apiVersion: String?
    /// Output cap sent when the client gives none.
    public var defaultMaxTokens: Int?
    /// An OAuth2 bearer credential besides (or instead of) API keys.
    public var oauth: OAuth2Config?

    public init(apiVersion: String? = nil, defaultMaxTokens: Int? = nil, oauth: OAuth2Config? = nil) {
        self.apiVersion = apiVersion
        self.defaultMaxTokens = defaultMaxTokens
        self.oauth = oauth
    }

    public var secrets: [String] { oauth?.secrets ?? [] }
    public var authSummary: String? { oauth == nil ? nil : "oauth2" }
}
