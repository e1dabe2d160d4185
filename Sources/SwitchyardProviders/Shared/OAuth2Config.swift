public import SwitchyardCore

/// An OAuth2 token endpoint and grant for bearer-token credentials.
public struct OAuth2Config: Sendable, Hashable {
    public enum Grant: Sendable, Hashable {
        case refreshToken(String)
        case clientCredentials
    }

    public var tokenURL: String
    public var clientID: String?
    public var clientSecret: String?
    public var scope: String?
    public var grant: Grant
    /// Extra headers sent with API calls in this mode (Anthropic needs an `anthropic-beta` flag).
    public var extraHeaders: [String: String]

    public init(tokenURL: String, clientID: String?, clientSecret: String?, scope: String?, grant: Grant, extraHeaders: [String: String] = [:]) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.grant = grant
        self.extraHeaders = extraHeaders
    }

    /// The secret values of this config, for redaction.
    public var secrets: [String] {
        var values = [clientSecret].compactMap { $0 }
        if case .refreshToken(let token) = grant { values.append(token) }
        return values
    }

    /// Reads an `oauth:` section: `token_url` (required), `client_id`, `client_secret`, `scope`, `grant`
    /// (`refresh_token` with `refresh_token:`, or `client_credentials` with id and secret; the default
    /// follows from whether a refresh token is given), `headers` (sent with API calls in this mode).
    public static func read(_ value: ConfigValue) -> OAuth2Config? {
        let allowed: Set = ["token_url", "client_id", "client_secret", "scope", "refresh_token", "grant", "headers"]
        guard let members = value.mapping(allowed: allowed) else { return nil }
        var values: [String: String] = [:]
        var headers: [String: String] = [:]
        for (key, member) in members {
            if key == "headers" {
                for (name, header) in member.mapping() ?? [] { headers[name] = header.string() }
            } else if let text = member.string() {
                values[key] = text
            }
        }
        guard let tokenURL = values["token_url"] else {
            value.report("missing key 'token_url'")
            return nil
        }
        let grant: Grant
        switch values["grant"] ?? (values["refresh_token"] != nil ? "refresh_token" : "client_credentials") {
        case "refresh_token":
            guard let refreshToken = values["refresh_token"], !refreshToken.isEmpty else {
                value.report("grant refresh_token needs 'refresh_token'")
                return nil
            }
            grant = .refreshToken(refreshToken)
        case "client_credentials":
            guard values["client_id"] != nil, values["client_secret"] != nil else {
                value.report("grant client_credentials needs 'client_id' and 'client_secret'")
                return nil
            }
            grant = .clientCredentials
        case let other:
            (members.first { $0.key == "grant" }?.value ?? value).report("unknown grant '\(other)' (refresh_token or client_credentials)")
            return nil
        }
        return OAuth2Config(
            tokenURL: tokenURL, clientID: values["client_id"], clientSecret: values["client_secret"], scope: values["scope"], grant: grant,
            extraHeaders: headers)
    }
}
