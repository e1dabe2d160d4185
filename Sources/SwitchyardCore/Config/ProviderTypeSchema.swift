/// The settings only one provider type understands (`anthropic_version`, `oauth`, `region`, …): read,
/// defaulted and validated by that type, carried by Core without looking inside.
public protocol ProviderOptions: Sendable {
    /// Secret values among the options (client secrets, refresh tokens, private keys), so they are redacted
    /// wherever upstream text could echo them.
    var secrets: [String] { get }
    /// How the provider authenticates when it is not by `keys` ("oauth2", "service account"), for `switchyard check`.
    var authSummary: String? { get }
}

extension ProviderOptions {
    public var secrets: [String] { [] }
    public var authSummary: String? { nil }
}

/// Options of a provider type that has none of its own.
public struct NoProviderOptions: ProviderOptions {
    public init() {}
}

/// One provider type's part of the config schema: the keys it adds to the ones every provider shares
/// (`type`, `keys`, `base_url`, `headers`, `timeout`, `max_connections`, `key_selection`), how they are
/// read, and the checks that involve the shared keys (a type that needs `keys`, one that needs `base_url`).
///
/// Each provider type declares its schema in its own folder under SwitchyardProviders; Core never names a type.
public protocol ProviderConfigSchema: Sendable {
    /// The `type:` value (`openai`, `anthropic`, …).
    var typeName: String { get }
    /// Keys of this type beyond the shared ones; any other key is an error with a did-you-mean hint.
    var optionKeys: Set<String> { get }
    /// Reads this type's keys from a provider's section, reporting problems by key path.
    func readOptions(_ section: ProviderSection) -> any ProviderOptions
}

/// The provider types a config may name.
public struct ProviderTypeCatalog: Sendable {
    /// Schemas by type name.
    public let schemas: [String: any ProviderConfigSchema]
    /// Type names the contract knows but this build does not implement: refused with "not supported yet".
    public let planned: [String]

    public init(_ schemas: [any ProviderConfigSchema], planned: [String] = []) {
        self.schemas = Dictionary(schemas.map { ($0.typeName, $0) }, uniquingKeysWith: { first, _ in first })
        self.planned = planned
    }

    /// Every type name, implemented or planned, for error messages.
    public var allTypeNames: [String] { schemas.keys.sorted() + planned }
}

/// One provider's section of the config as its type reads it: the shared keys already read, and typed
/// access to the type's own keys with errors reported at their key path.
public struct ProviderSection {
    /// The provider with the shared keys read.
    public let provider: ProviderConfig
    private let members: [String: ConfigNode]
    private let node: ConfigNode

    init(provider: ProviderConfig, members: [String: ConfigNode], node: ConfigNode) {
        self.provider = provider
        self.members = members
        self.node = node
    }

    /// The value of the type's key `key`, if the section has it.
    public func value(_ key: String) -> ConfigValue? {
        members[key].map(ConfigValue.init)
    }

    /// The environment the config was read with: a type may fall back on its vendor's standard variables
    /// (`GOOGLE_APPLICATION_CREDENTIALS`, `AWS_ACCESS_KEY_ID`) when its section leaves a credential out.
    public var environment: [String: String] { node.context.substitution.environment }

    /// Reports a problem at `providers.<name>.<key>` (or at the provider itself when `key` is nil).
    public func report(_ key: String?, _ message: String) {
        if let key { node.child(key, node.node).report(message) } else { node.report(message) }
    }
}

/// One value of the config, read with the same rules and key-path errors as the rest of the config.
public struct ConfigValue {
    let node: ConfigNode

    /// The key path (`providers.claude.oauth.token_url`).
    public var path: String { node.path }
    public var isNull: Bool { node.isNull }

    public func string() -> String? { node.string() }
    public func int(range: ClosedRange<Int>) -> Int? { node.int(range: range) }
    public func double(range: ClosedRange<Double>) -> Double? { node.double(range: range) }
    public func bool() -> Bool? { node.bool() }
    public func duration() -> Duration? { node.duration() }
    public func stringList() -> [String]? { node.stringList() }

    /// The members of a mapping; keys outside `allowed` are reported as unknown (with a did-you-mean hint).
    public func mapping(allowed: Set<String>? = nil) -> [(key: String, value: ConfigValue)]? {
        node.mapping(allowed: allowed)?.map { ($0.key, ConfigValue(node: $0.value)) }
    }

    /// Reports a problem at this value's key path.
    public func report(_ message: String) { node.report(message) }
}
