public import Foundation

/// A virtual key created at run time through the admin API: stored by the digest of its secret only.
public struct ManagedKey: Sendable, Hashable {
    public var name: String
    public var digest: SecretDigest
    public var models: [String]?
    public var limits: KeyLimits?
    public var budget: KeyBudget?
    public var disabled: Bool
    public var created: Date

    public init(name: String, digest: SecretDigest, models: [String]?, limits: KeyLimits?, budget: KeyBudget?, disabled: Bool = false, created: Date = Date()) {
        self.name = name
        self.digest = digest
        self.models = models
        self.limits = limits
        self.budget = budget
        self.disabled = disabled
        self.created = created
    }

    /// The key as routing sees it (its secret is not known here, only its digest).
    public var virtualKey: VirtualKeyConfig {
        VirtualKeyConfig(name: name, key: "", models: models, limits: limits, budget: budget)
    }

    /// A new secret: `sk-sy-` and 43 characters of base64url (256 random bits).
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var text = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return "sk-sy-" + text
    }
}

/// The managed keys in force: an immutable value swapped whole when one changes, so a request's lookup
/// takes no lock.
public struct ManagedKeyTable: Sendable {
    public let byDigest: [SecretDigest: ManagedKey]
    public let byName: [String: ManagedKey]

    public init(_ keys: [ManagedKey] = []) {
        byDigest = Dictionary(keys.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        byName = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var isEmpty: Bool { byName.isEmpty }
}

/// Where managed keys are kept (the request log's store).
public protocol ManagedKeyStore: Sendable {
    func loadKeys() async throws -> [ManagedKey]
    func saveKey(_ key: ManagedKey) async throws
    func deleteKey(named name: String) async throws
}
