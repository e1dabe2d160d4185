public import Foundation
public import SwitchyardCore

/// Everything one provider type brings, declared in its own folder: its config schema (keys, defaults,
/// validation), its credential kinds and its adapter. ``ProviderRegistry`` lists the types; nothing else
/// names them.
public protocol ProviderTypeDefinition: ProviderConfigSchema {
    /// The adapter and credentials of one configured provider of this type.
    /// - Throws: ``ConfigError`` when the provider cannot be built (a credential file that does not parse).
    func makeRuntime(for config: ProviderConfig, context: ProviderBuildContext) throws(ConfigError) -> ProviderRuntime
}

/// What a provider type needs to build a provider: its transport, the redactor its credentials teach the
/// tokens they mint, the breaker settings of each credential and the clock.
public struct ProviderBuildContext: Sendable {
    public let transport: any UpstreamTransport
    public let redactor: SecretRedactor
    public let breaker: CircuitBreakerConfig
    /// The router's clock: token expiry is timed on it, so tests can move it.
    public let timeSource: any TimeSource

    public init(transport: any UpstreamTransport, redactor: SecretRedactor, breaker: CircuitBreakerConfig, timeSource: any TimeSource = SystemTimeSource()) {
        self.transport = transport
        self.redactor = redactor
        self.breaker = breaker
        self.timeSource = timeSource
    }
}

extension ConfigLoader {
    /// Parses config text with the standard provider types (``ProviderRegistry/types``).
    public static func parse(_ text: String, environment: [String: String] = [:], baseDirectory: String? = nil) throws(ConfigError) -> GatewayConfig {
        try parse(text, environment: environment, baseDirectory: baseDirectory, providerTypes: ProviderRegistry.catalog)
    }

    /// Loads the config at `path` with the standard provider types (``ProviderRegistry/types``).
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> GatewayConfig {
        try load(path: path, environment: environment, providerTypes: ProviderRegistry.catalog)
    }
}
