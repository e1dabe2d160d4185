import Foundation
import NIOCore
import Synchronization

/// Removes the secrets the gateway holds from text that came from elsewhere (an upstream's error message,
/// a token endpoint's answer) before it reaches a response or a log line.
///
/// It knows every secret of one config (provider keys and client secrets, refresh tokens, the admin key,
/// virtual keys) and the tokens credentials mint at run time (OAuth access tokens), wherever they stand in
/// the text: after `api_key="`, after a newline, inside a URL. Lines are flattened, so one message stays
/// one log line.
public final class SecretRedactor: Sendable {
    /// Shorter strings are not treated as secrets: they would match ordinary words.
    public static let minimumSecretLength = 8
    /// Run-time tokens remembered; the oldest are forgotten first (they have long expired by then).
    static let maximumMintedTokens = 256

    private let configured: [String]
    private let minted = Mutex<[String]>([])

    /// - Parameter secrets: every secret value the config holds.
    public init(secrets: [String] = []) {
        configured = Self.usable(secrets)
    }

    /// A redactor for every secret in `config`.
    public convenience init(config: GatewayConfig) {
        var secrets = config.keys.map(\.key)
        if let admin = config.adminKey { secrets.append(admin) }
        if let password = config.storage.postgresURL.flatMap({ URL(string: $0)?.password }) { secrets.append(password) }
        for provider in config.providers {
            secrets += provider.keys + provider.options.secrets
            secrets += provider.headers.map(\.value).filter { $0.count >= 16 }
        }
        self.init(secrets: secrets)
    }

    /// Remembers a secret minted at run time (an access token), so it is redacted too.
    public func register(minted secret: String) {
        guard secret.count >= Self.minimumSecretLength else { return }
        minted.withLock { tokens in
            if tokens.contains(secret) { return }
            tokens.append(secret)
            if tokens.count > Self.maximumMintedTokens { tokens.removeFirst(tokens.count - Self.maximumMintedTokens) }
        }
    }

    /// `text` with every known secret replaced by `[redacted]` and line breaks turned into spaces.
    public func redact(_ text: String) -> String {
        var result = text
        if result.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            result = String(String.UnicodeScalarView(result.unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : $0 }))
        }
        for secret in configured + minted.withLock({ $0 }) where result.contains(secret) {
            result = result.replacing(secret, with: "[redacted]")
        }
        return result
    }

    /// A failure whose message is redacted; a vendor body that holds a secret is not passed on at all.
    public func redact(_ failure: UpstreamFailure) -> UpstreamFailure {
        var redacted = failure
        redacted.message = redact(failure.message)
        if let body = failure.vendorBody, containsSecret(body.readableBytesView) { redacted.vendorBody = nil }
        return redacted
    }

    /// Whether vendor bytes mention a secret: such bytes are never passed on verbatim.
    public func containsSecret(_ bytes: some Collection<UInt8>) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        return (configured + minted.withLock({ $0 })).contains { text.contains($0) }
    }

    private static func usable(_ secrets: [String]) -> [String] {
        // Longest first, so a secret that contains another is replaced whole.
        Array(Set(secrets.filter { $0.count >= minimumSecretLength })).sorted { $0.count > $1.count }
    }
}
