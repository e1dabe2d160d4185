public import SwitchyardCore

/// The `gemini` provider type: Google AI Studio with API keys in `x-goog-api-key`.
///
/// Config keys beyond the shared ones: `api_version` (`v1beta`, the default, or `v1`). It needs `keys`.
public struct GeminiProviderType: ProviderTypeDefinition {
    public init() {}

    public var typeName: String { "gemini" }
    public var optionKeys: Set<String> { ["api_version"] }

    public func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = GeminiOptions()
        if let value = section.value("api_version"), let version = value.string() {
            if version == "v1" || version == "v1beta" { options.apiVersion = version } else { value.report("expected v1beta or v1") }
        }
        if section.provider.keys.isEmpty { section.report("keys", "a provider of type gemini needs at least one key") }
        return options
    }

    public func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime {
        ProviderRuntime(
            config: config, adapter: GeminiProvider(config: config),
            credentials: config.keys.map { APIKeyCredential(key: $0, header: "x-goog-api-key") }, transport: context.transport,
            breaker: context.breaker)
    }
}

/// Options of the `gemini` type.
public struct GeminiOptions: ProviderOptions {
    public var apiVersion = "v1beta"

    public init() {}
}
