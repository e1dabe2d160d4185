public import SwitchyardCore

/// The `azure` provider type: Azure OpenAI with `api-key` keys or an Entra ID application.
///
/// Config keys beyond the shared ones: `base_url` (required: `https://<resource>.openai.azure.com`),
/// `api_version` (default `2024-10-21`; `v1` selects the v1 API), `entra: {tenant_id, client_id,
/// client_secret, scope}` (client-credentials grant; scope default `https://cognitiveservices.azure.com/.default`),
/// `token_url` (replaces `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`). It needs `keys` or `entra`.
/// A target's model name is the deployment name.
public struct AzureProviderType: ProviderTypeDefinition {
    public init() {}

    public var typeName: String { "azure" }
    public var optionKeys: Set<String> { ["api_version", "entra", "token_url"] }

    public static let defaultScope = "https://cognitiveservices.azure.com/.default"

    public func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = AzureOptions()
        if section.provider.baseURL == nil { section.report("base_url", "a provider of type azure needs base_url (https://<resource>.openai.azure.com)") }
        if let value = section.value("api_version"), let version = value.string() {
            if version == "v1" || (version.utf8.count <= 40 && version.allSatisfy { $0.isNumber || $0.isLetter || $0 == "-" }) {
                options.apiVersion = version
            } else {
                value.report("expected a dated version such as 2024-10-21, or v1")
            }
        }
        var tokenURL: String?
        if let value = section.value("token_url"), let url = value.string() {
            if url.hasPrefix("http://") || url.hasPrefix("https://") { tokenURL = url } else { value.report("expected an http:// or https:// URL") }
        }
        if let value = section.value("entra") {
            options.entra = Self.readEntra(value, tokenURL: tokenURL)
        } else if section.provider.keys.isEmpty {
            section.report("keys", "a provider of type azure needs at least one key (or an entra section)")
        }
        return options
    }

    private static func readEntra(_ value: ConfigValue, tokenURL: String?) -> OAuth2Config? {
        guard let members = value.mapping(allowed: ["tenant_id", "client_id", "client_secret", "scope"]) else { return nil }
        var values: [String: String] = [:]
        for (key, member) in members { values[key] = member.string() }
        for required in ["tenant_id", "client_id", "client_secret"] where (values[required] ?? "").isEmpty {
            value.report("missing key '\(required)'")
            return nil
        }
        let tenant = URLPath.segment(values["tenant_id"] ?? "")
        return OAuth2Config(
            tokenURL: tokenURL ?? "https://login.microsoftonline.com/\(tenant)/oauth2/v2.0/token", clientID: values["client_id"],
            clientSecret: values["client_secret"], scope: values["scope"] ?? defaultScope, grant: .clientCredentials)
    }

    public func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime {
        let options = config.options as? AzureOptions ?? AzureOptions()
        var credentials: [any Credential] = config.keys.map { APIKeyCredential(key: $0, header: "api-key") }
        if let entra = options.entra {
            credentials.append(OAuth2Credential(config: entra, transport: context.transport, timeSource: context.timeSource, redactor: context.redactor))
        }
        return ProviderRuntime(
            config: config, adapter: AzureProvider(config: config), credentials: credentials, transport: context.transport, breaker: context.breaker)
    }
}

/// Options of the `azure` type.
public struct AzureOptions: ProviderOptions {
    public var apiVersion = "2024-10-21"
    /// The Entra ID application, as an OAuth2 client-credentials grant.
    public var entra: OAuth2Config?

    public init() {}

    public var secrets: [String] { entra?.secrets ?? [] }
    public var authSummary: String? { entra.map { "entra id (client \($0.clientID ?? "?"))" } }
}
