import NIOCore
public import SwitchyardCore
import Synchronization

/// A bearer token from an OAuth2 token endpoint (refresh-token or client-credentials grant), cached and
/// refreshed single-flight (``BearerTokenCache``).
public final class OAuth2Credential: Credential {
    private let config: OAuth2Config
    private let transport: any UpstreamTransport
    private let cache: BearerTokenCache
    /// The current refresh token: endpoints may rotate it with each refresh.
    private let refreshToken: Mutex<String?>
    private let tokenRequestCount = Atomic<Int>(0)
    private let redactor: SecretRedactor?

    /// Refresh this long before expiry (or at half the lifetime for short-lived tokens).
    public static let refreshMargin: Duration = .seconds(60)

    /// - Parameter redactor: learns every token this credential obtains, so no token reaches a response or log.
    public init(
        config: OAuth2Config, transport: any UpstreamTransport, timeSource: any TimeSource = SystemTimeSource(), redactor: SecretRedactor? = nil
    ) {
        self.redactor = redactor
        self.config = config
        self.transport = transport
        self.cache = BearerTokenCache(timeSource: timeSource, refreshMargin: Self.refreshMargin, failureLabel: "OAuth2")
        if case .refreshToken(let token) = config.grant { refreshToken = Mutex(token) } else { refreshToken = Mutex(nil) }
    }

    /// Token requests sent so far (for tests and the admin view).
    public var tokenRequests: Int { tokenRequestCount.load(ordering: .relaxed) }

    public func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure) {
        let token = try await cache.token(fetch: fetchToken)
        request.headers.replace("authorization", "Bearer \(token)")
        for (name, value) in config.extraHeaders.sorted(by: { $0.key < $1.key }) { request.headers.replace(name, value) }
    }

    public func invalidate() async {
        cache.invalidate()
    }

    public var mintsTokens: Bool { true }

    private func fetchToken() async throws(UpstreamFailure) -> BearerTokenCache.Minted {
        tokenRequestCount.add(1, ordering: .relaxed)
        var form: [(String, String)] = []
        switch config.grant {
        case .refreshToken:
            form.append(("grant_type", "refresh_token"))
            form.append(("refresh_token", refreshToken.withLock { $0 } ?? ""))
        case .clientCredentials:
            form.append(("grant_type", "client_credentials"))
        }
        if let clientID = config.clientID { form.append(("client_id", clientID)) }
        if let secret = config.clientSecret { form.append(("client_secret", secret)) }
        if let scope = config.scope { form.append(("scope", scope)) }
        let json = try await TokenEndpoint.request(form, to: config.tokenURL, transport: transport, label: "OAuth2")
        let minted = try TokenEndpoint.minted(json, label: "OAuth2")
        redactor?.register(minted: minted.token)
        if let rotated = json["refresh_token"]?.stringValue, !rotated.isEmpty {
            redactor?.register(minted: rotated)
            refreshToken.withLock { $0 = rotated }
        }
        return minted
    }
}
