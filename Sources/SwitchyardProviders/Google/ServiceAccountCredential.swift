import Foundation
public import SwitchyardCore
import Synchronization

/// A Google service account: a signed JWT exchanged at the token endpoint for an access token (the
/// JWT-bearer grant, providers.md §4.2), cached and refreshed single-flight ahead of expiry.
///
/// A refused grant (a deleted or disabled key, `invalid_grant: Invalid JWT Signature.`) is `auth_failed`
/// for this credential, with a message that names the provider and the endpoint's reason, never the key.
public final class ServiceAccountCredential: Credential {
    private let key: ServiceAccountKey
    private let tokenURL: String
    private let transport: any UpstreamTransport
    private let cache: BearerTokenCache
    private let redactor: SecretRedactor?
    private let label: String
    private let tokenRequestCount = Atomic<Int>(0)

    /// google-auth treats a token as stale 3 min 45 s before it expires.
    public static let refreshMargin: Duration = .seconds(225)

    /// - Parameters:
    ///   - tokenURL: where to exchange the JWT; the key's `token_uri` when nil. The JWT's audience stays the key's `token_uri`.
    ///   - providerName: names the provider in failures.
    public init(
        key: ServiceAccountKey, tokenURL: String? = nil, providerName: String, transport: any UpstreamTransport,
        timeSource: any TimeSource = SystemTimeSource(), redactor: SecretRedactor? = nil
    ) {
        self.key = key
        self.tokenURL = tokenURL ?? key.tokenURI
        self.transport = transport
        self.redactor = redactor
        self.label = "provider '\(providerName)': service account \(key.clientEmail)"
        self.cache = BearerTokenCache(timeSource: timeSource, refreshMargin: Self.refreshMargin, failureLabel: label)
    }

    /// Token requests sent so far.
    public var tokenRequests: Int { tokenRequestCount.load(ordering: .relaxed) }

    public func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure) {
        let token = try await cache.token(fetch: fetchToken)
        request.headers.replace("authorization", "Bearer \(token)")
    }

    public func invalidate() async {
        cache.invalidate()
    }

    public var mintsTokens: Bool { true }

    private func fetchToken() async throws(UpstreamFailure) -> BearerTokenCache.Minted {
        tokenRequestCount.add(1, ordering: .relaxed)
        let assertion: String
        do {
            assertion = try key.assertion(issuedAt: Int(Date().timeIntervalSince1970))
        } catch {
            throw UpstreamFailure(kind: .authFailed, message: "\(label): the key could not sign a token request")
        }
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)]
        let json = try await TokenEndpoint.request(form, to: tokenURL, transport: transport, label: label)
        let minted = try TokenEndpoint.minted(json, label: label)
        redactor?.register(minted: minted.token)
        return minted
    }
}
