import Foundation
public import SwitchyardCore

/// The `bedrock` provider type: AWS Bedrock's Converse API, signed with SigV4 or called with Bedrock API keys.
///
/// Config keys beyond the shared ones: `region` (else `AWS_REGION` / `AWS_DEFAULT_REGION`), `aws:
/// {access_key_id, secret_access_key, session_token}`, `profile` (a profile of the shared credentials file).
/// `keys` are Bedrock API keys, sent as bearer tokens. Credentials, first found: `aws`, `keys`,
/// `AWS_BEARER_TOKEN_BEDROCK`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`(/`AWS_SESSION_TOKEN`), the profile
/// (`profile`, else `AWS_PROFILE`, else `default`) of `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
public struct BedrockProviderType: ProviderTypeDefinition {
    public init() {}

    public var typeName: String { "bedrock" }
    public var optionKeys: Set<String> { ["region", "aws", "profile"] }

    public func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = BedrockOptions()
        let environment = section.environment
        if let value = section.value("region"), let region = value.string() {
            if Self.isRegion(region) { options.region = region } else { value.report("expected an AWS region such as us-east-1") }
        } else if let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], Self.isRegion(region) {
            options.region = region
        } else {
            section.report("region", "a provider of type bedrock needs region (or AWS_REGION)")
        }
        if let value = section.value("aws") {
            options.signing = Self.readAWS(value)
        } else if !section.provider.keys.isEmpty {
            // Bedrock API keys: the shared `keys`, as bearer tokens.
        } else if let token = environment["AWS_BEARER_TOKEN_BEDROCK"], !token.isEmpty {
            options.environmentAPIKey = token
        } else if let keyID = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !keyID.isEmpty, !secret.isEmpty {
            options.signing = .init(accessKeyID: keyID, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        } else {
            let profile = section.value("profile")?.string() ?? environment["AWS_PROFILE"] ?? "default"
            let path = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? (environment["HOME"].map { "\($0)/.aws/credentials" } ?? "")
            if let credentials = Self.sharedCredentials(path: path, profile: profile) {
                options.signing = credentials
            } else {
                section.report(
                    "aws",
                    "a provider of type bedrock needs credentials: aws {access_key_id, secret_access_key}, keys (Bedrock API keys), AWS_BEARER_TOKEN_BEDROCK, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or profile '\(profile)' in \(path.isEmpty ? "~/.aws/credentials" : path)")
            }
        }
        return options
    }

    private static func isRegion(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32 && text.allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "-" }
    }

    private static func readAWS(_ value: ConfigValue) -> SigV4Signer.Credentials? {
        guard let members = value.mapping(allowed: ["access_key_id", "secret_access_key", "session_token"]) else { return nil }
        var values: [String: String] = [:]
        for (key, member) in members { values[key] = member.string() }
        guard let keyID = values["access_key_id"], !keyID.isEmpty, let secret = values["secret_access_key"], !secret.isEmpty else {
            value.report("needs access_key_id and secret_access_key")
            return nil
        }
        return .init(accessKeyID: keyID, secretAccessKey: secret, sessionToken: values["session_token"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// A profile of the shared credentials file (INI: `[name]`, then `key = value` lines).
    static func sharedCredentials(path: String, profile: String) -> SigV4Signer.Credentials? {
        guard !path.isEmpty, let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else { return nil }
        var section: String?
        var values: [String: String] = [:]
        for rawLine in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            values[line[..<equals].trimmingCharacters(in: .whitespaces)] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let keyID = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return .init(accessKeyID: keyID, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }

    public func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime {
        let options = config.options as? BedrockOptions ?? BedrockOptions()
        var credentials: [any Credential] = (config.keys + [options.environmentAPIKey].compactMap { $0 }).map {
            APIKeyCredential(key: $0, header: "authorization", prefix: "Bearer ")
        }
        if let signing = options.signing {
            credentials.insert(SigV4Credential(signer: SigV4Signer(credentials: signing, region: options.region)), at: 0)
        }
        return ProviderRuntime(
            config: config, adapter: BedrockProvider(config: config), credentials: credentials, transport: context.transport, breaker: context.breaker)
    }
}

/// Options of the `bedrock` type.
public struct BedrockOptions: ProviderOptions {
    public var region = "us-east-1"
    /// AWS credentials for SigV4, from the config, the environment or the shared credentials file.
    public var signing: SigV4Signer.Credentials?
    /// A Bedrock API key from `AWS_BEARER_TOKEN_BEDROCK`.
    public var environmentAPIKey: String?

    public init() {}

    public var secrets: [String] {
        [signing?.secretAccessKey, signing?.sessionToken, environmentAPIKey].compactMap { $0 }
    }

    public var authSummary: String? {
        if let signing { return "aws sigv4 (\(signing.accessKeyID), \(region))" }
        return environmentAPIKey == nil ? nil : "bedrock api key (AWS_BEARER_TOKEN_BEDROCK)"
    }
}
