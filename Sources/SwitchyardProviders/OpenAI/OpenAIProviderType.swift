public import SwitchyardCore

/// The `openai` and `openai-compatible` provider types: Bearer API keys (or none, for a local server).
///
/// Config keys beyond the shared ones: `stream_usage` (bool, default true: ask for usage in streams with
/// `stream_options.include_usage`; some compatible servers reject the field).
public struct OpenAIProviderType: ProviderTypeDefinition {
    /// OpenAI itself: a key is required, `developer` and `max_completion_tokens` are understood.
    public static let openAI = OpenAIProviderType(typeName: "openai", isCompatible: false)
    /// Any OpenAI-compatible server (Mistral, Groq, vLLM, Ollama, …): needs `base_url`, keys optional.
    public static let compatible = OpenAIProviderType(typeName: "openai-compatible", isCompatible: true)

    public let typeName: String
    let isCompatible: Bool

    public var optionKeys: Set<String> { ["stream_usage"] }

    public func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = OpenAIOptions()
        if let value = section.value("stream_usage") { options.requestsStreamUsage = value.bool() ?? true }
        if isCompatible {
            if section.provider.baseURL == nil { section.report("base_url", "an openai-compatible provider needs base_url") }
        } else if section.provider.keys.isEmpty {
            section.report("keys", "a provider of type openai needs at least one key")
        }
        return options
    }

    public func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime {
        let credentials: [any Credential] =
            config.keys.isEmpty ? [NoCredential()] : config.keys.map { APIKeyCredential(key: $0, header: "authorization", prefix: "Bearer ") }
        return ProviderRuntime(
            config: config, adapter: OpenAIProvider(config: config), credentials: credentials, transport: context.transport, breaker: context.breaker)
    }
}

/// Options of the OpenAI-family types.
public struct OpenAIOptions: ProviderOptions {
    /// Whether to ask an upstream for usage in streams (`stream_options.include_usage`).
    public var requestsStreamUsage = true

    public init(requestsStreamUsage: Bool = true) {
        self.requestsStreamUsage = requestsStreamUsage
    }
}
