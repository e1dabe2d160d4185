import Foundation
public import SwitchyardCore

/// The `vertex` provider type: Gemini and Claude models on Google Cloud's Vertex AI.
///
/// Config keys beyond the shared ones: `project` (required), `location` (default `us-central1`; `global`
/// and the multi-regions `us`/`eu` pick their own hosts), `service_account` (the JSON text of a
/// service-account key, usually `${file:key.json}`), `token_url` (replaces the key's token endpoint),
/// `publishers` (model → `google` or `anthropic`, for a model whose name does not say; `claude-*` is
/// Anthropic's, everything else Google's), `anthropic_version` (default `vertex-2023-10-16`), `max_tokens`
/// (Claude's output cap when the client gives none, default 4096). Without `service_account` (and without
/// `keys`, which Vertex express mode takes as API keys), Application Default Credentials are read from the
/// file `GOOGLE_APPLICATION_CREDENTIALS` names: a service-account key or an `authorized_user` login.
public struct VertexProviderType: ProviderTypeDefinition {
    public init() {}

    public var typeName: String { "vertex" }
    public var optionKeys: Set<String> {
        ["project", "location", "service_account", "token_url", "publishers", "anthropic_version", "max_tokens", "api_version"]
    }

    public func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = VertexOptions()
        if let value = section.value("project"), let project = value.string() {
            if project.isEmpty || project.utf8.count > 128 || project.contains("/") { value.report("expected a Google Cloud project id") } else { options.project = project }
        } else {
            section.report("project", "a provider of type vertex needs project")
        }
        if let value = section.value("location"), let location = value.string() {
            if location.isEmpty || location.utf8.count > 64 || !location.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                value.report("expected a location such as us-central1, europe-west4, global, us or eu")
            } else {
                options.location = location
            }
        }
        if let value = section.value("api_version"), let version = value.string() {
            if version == "v1" || version == "v1beta1" { options.apiVersion = version } else { value.report("expected v1 or v1beta1") }
        }
        if let value = section.value("token_url"), let url = value.string() {
            if url.hasPrefix("http://") || url.hasPrefix("https://") { options.tokenURL = url } else { value.report("expected an http:// or https:// URL") }
        }
        if let value = section.value("anthropic_version") { options.anthropicVersion = value.string() ?? options.anthropicVersion }
        if let value = section.value("max_tokens") { options.defaultMaxTokens = value.int(range: 1...10_000_000) ?? options.defaultMaxTokens }
        if let value = section.value("publishers") {
            for (model, publisher) in value.mapping() ?? [] {
                guard let text = publisher.string() else { continue }
                guard let known = VertexPublisher(rawValue: text) else {
                    publisher.report("expected google or anthropic")
                    continue
                }
                options.publishers[model] = known
            }
        }
        if let value = section.value("service_account") {
            if let text = value.string() { options.authentication = Self.serviceAccount(text, report: value.report) }
        } else if section.provider.keys.isEmpty {
            options.authentication = Self.applicationDefaultCredentials(section)
        }
        return options
    }

    private static func serviceAccount(_ text: String, report: (String) -> Void) -> VertexOptions.Authentication? {
        do {
            return .serviceAccount(try ServiceAccountKey(json: text), secret: text)
        } catch {
            report("the service-account key \(error.problem)")
            return nil
        }
    }

    /// Application Default Credentials: the file `GOOGLE_APPLICATION_CREDENTIALS` names.
    private static func applicationDefaultCredentials(_ section: ProviderSection) -> VertexOptions.Authentication? {
        guard let path = section.environment["GOOGLE_APPLICATION_CREDENTIALS"], !path.isEmpty else {
            section.report("service_account", "a provider of type vertex needs service_account (or GOOGLE_APPLICATION_CREDENTIALS, or keys for express mode)")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
            section.report("service_account", "GOOGLE_APPLICATION_CREDENTIALS names '\(path)', which cannot be read")
            return nil
        }
        let text = String(decoding: data, as: UTF8.self)
        let json = try? JSONParser.parse(text)
        switch json?["type"]?.stringValue {
        case "authorized_user":
            guard let clientID = json?["client_id"]?.stringValue, let secret = json?["client_secret"]?.stringValue,
                let refreshToken = json?["refresh_token"]?.stringValue
            else {
                section.report("service_account", "the authorized_user file GOOGLE_APPLICATION_CREDENTIALS names lacks client_id, client_secret or refresh_token")
                return nil
            }
            let config = OAuth2Config(
                tokenURL: json?["token_uri"]?.stringValue ?? ServiceAccountKey.defaultTokenURI, clientID: clientID, clientSecret: secret, scope: nil,
                grant: .refreshToken(refreshToken))
            return .authorizedUser(config)
        default:
            return serviceAccount(text) { section.report("service_account", "GOOGLE_APPLICATION_CREDENTIALS: \($0)") }
        }
    }

    public func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime {
        let options = config.options as? VertexOptions ?? VertexOptions()
        var credentials: [any Credential] = config.keys.map { APIKeyCredential(key: $0, header: "x-goog-api-key") }
        switch options.authentication {
        case .serviceAccount(let key, _)?:
            credentials.append(
                ServiceAccountCredential(
                    key: key, tokenURL: options.tokenURL, providerName: config.name, transport: context.transport, timeSource: context.timeSource, redactor: context.redactor))
        case .authorizedUser(var oauth)?:
            if let tokenURL = options.tokenURL { oauth.tokenURL = tokenURL }
            credentials.append(OAuth2Credential(config: oauth, transport: context.transport, timeSource: context.timeSource, redactor: context.redactor))
        case nil:
            break
        }
        return ProviderRuntime(
            config: config, adapter: VertexProvider(config: config), credentials: credentials, transport: context.transport, breaker: context.breaker)
    }
}

/// Who publishes a model on Vertex, which decides its wire format.
public enum VertexPublisher: String, Sendable {
    case google
    case anthropic
}

/// Options of the `vertex` type.
public struct VertexOptions: ProviderOptions {
    public enum Authentication: Sendable {
        /// A service-account key and its JSON text (a secret to redact).
        case serviceAccount(ServiceAccountKey, secret: String)
        /// An `authorized_user` login from Application Default Credentials.
        case authorizedUser(OAuth2Config)
    }

    public var project = ""
    public var location = "us-central1"
    public var apiVersion = "v1"
    public var tokenURL: String?
    public var publishers: [String: VertexPublisher] = [:]
    public var anthropicVersion = "vertex-2023-10-16"
    public var defaultMaxTokens = AnthropicRequestEncoder.fallbackMaxTokens
    public var authentication: Authentication?

    public init() {}

    public var secrets: [String] {
        switch authentication {
        case .serviceAccount(let key, let secret)?: [secret, key.privateKeyPEM]
        case .authorizedUser(let config)?: config.secrets
        case nil: []
        }
    }

    public var authSummary: String? {
        switch authentication {
        case .serviceAccount(let key, _)?: "service account \(key.clientEmail)"
        case .authorizedUser?: "application default credentials (authorized user)"
        case nil: nil
        }
    }
}
