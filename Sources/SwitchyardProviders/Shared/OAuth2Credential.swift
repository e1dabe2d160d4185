public import NIOCore
public import SwitchyardCore
import Synchronization

/// A bearer token from an OAuth2 token endpoint (refresh-token or client-credentials grant).
///
/// The token is cached until shortly before it expires. Concurrent requests that find no valid token
/// share one refresh: the first performs it, the others wait for its result. Requests with a valid
/// token take only a short lock, never a network call or an actor hop.
public final class OAuth2Credential: Credential {
    private struct State {
        var accessToken: String?
        var expiresAt: ContinuousClock.Instant?
        var refreshToken: String?
        var isRefreshing = false
        var waiters: [CheckedContinuation<String, any Error>] = []
        /// How the last refresh failed, for a waiter that arrives just after it ended.
        var lastFailure: UpstreamFailure?
    }

    private let config: OAuth2Config
    private let transport: any UpstreamTransport
    private let timeSource: any TimeSource
    private let state: Mutex<State>
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
        self.timeSource = timeSource
        var initial = State()
        if case .refreshToken(let token) = config.grant { initial.refreshToken = token }
        self.state = Mutex(initial)
    }

    /// Token requests sent so far (for tests and the admin view).
    public var tokenRequests: Int { tokenRequestCount.load(ordering: .relaxed) }

    public func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure) {
        let token = try await currentToken()
        request.headers.replace("authorization", "Bearer \(token)")
        for (name, value) in config.extraHeaders.sorted(by: { $0.key < $1.key }) { request.headers.replace(name, value) }
    }

    public func invalidate() async {
        state.withLock {
            $0.accessToken = nil
            $0.expiresAt = nil
        }
    }

    private enum Step {
        case use(String)
        case refresh
        case wait
    }

    private func currentToken() async throws(UpstreamFailure) -> String {
        let now = timeSource.now
        let step: Step = state.withLock { state in
            if let token = state.accessToken, let expiry = state.expiresAt, now < expiry { return .use(token) }
            if state.isRefreshing { return .wait }
            state.isRefreshing = true
            return .refresh
        }
        switch step {
        case .use(let token):
            return token
        case .refresh:
            return try await refresh()
        case .wait:
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    // The refresh may have ended between deciding to wait and getting here: then its
                    // outcome is answered now, since nobody would wake this waiter later.
                    let outcome: Result<String, UpstreamFailure>? = state.withLock { state in
                        if state.isRefreshing {
                            state.waiters.append(continuation)
                            return nil
                        }
                        if let token = state.accessToken { return .success(token) }
                        return .failure(state.lastFailure ?? UpstreamFailure(kind: .authFailed, message: "OAuth2 token refresh failed"))
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } catch let failure as UpstreamFailure {
                throw failure
            } catch {
                throw UpstreamFailure(kind: .authFailed, message: "OAuth2 token refresh failed")
            }
        }
    }

    private func refresh() async throws(UpstreamFailure) -> String {
        let result: Result<(token: String, lifetime: Duration, refreshToken: String?), UpstreamFailure>
        do {
            let fetched = try await fetchToken()
            redactor?.register(minted: fetched.token)
            if let rotated = fetched.refreshToken { redactor?.register(minted: rotated) }
            result = .success(fetched)
        } catch {
            result = .failure(error)
        }
        let now = timeSource.now
        let waiters: [CheckedContinuation<String, any Error>] = state.withLock { state in
            state.isRefreshing = false
            switch result {
            case .success(let fetched):
                state.lastFailure = nil
                state.accessToken = fetched.token
                let margin = min(Self.refreshMargin, fetched.lifetime / 2)
                state.expiresAt = now + fetched.lifetime - margin
                if let rotated = fetched.refreshToken { state.refreshToken = rotated }
            case .failure(let failure):
                state.lastFailure = failure
            }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        switch result {
        case .success(let fetched):
            for waiter in waiters { waiter.resume(returning: fetched.token) }
            return fetched.token
        case .failure(let failure):
            for waiter in waiters { waiter.resume(throwing: failure) }
            throw failure
        }
    }

    private func fetchToken() async throws(UpstreamFailure) -> (token: String, lifetime: Duration, refreshToken: String?) {
        tokenRequestCount.add(1, ordering: .relaxed)
        var form: [(String, String)] = []
        switch config.grant {
        case .refreshToken:
            form.append(("grant_type", "refresh_token"))
            form.append(("refresh_token", state.withLock { $0.refreshToken } ?? ""))
        case .clientCredentials:
            form.append(("grant_type", "client_credentials"))
        }
        if let clientID = config.clientID { form.append(("client_id", clientID)) }
        if let secret = config.clientSecret { form.append(("client_secret", secret)) }
        if let scope = config.scope { form.append(("scope", scope)) }
        let body = form.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let request = UpstreamRequest(
            method: "POST", url: config.tokenURL,
            headers: ["content-type": "application/x-www-form-urlencoded", "accept": "application/json"],
            body: ByteBuffer(string: body))
        let response = try await transport.execute(request, headDeadline: .now + .seconds(30))
        let bytes: ByteBuffer
        do { bytes = try await response.body.collect(upTo: 1 << 20) } catch {
            throw UpstreamFailure(kind: .unavailable, message: "OAuth2 token endpoint closed the connection")
        }
        let json = try? JSONParser.parse(bytes.readableBytesView)
        guard response.head.isSuccess else {
            let error = json?["error"]?.stringValue ?? "HTTP \(response.head.status)"
            // invalid_grant / invalid_client: the credential itself is dead (providers.md §8.6).
            let kind: FailureKind = (400..<500).contains(response.head.status) && response.head.status != 429 ? .authFailed : .unavailable
            throw UpstreamFailure(kind: kind, status: response.head.status, message: "OAuth2 token request failed: \(error)")
        }
        guard let token = json?["access_token"]?.stringValue, !token.isEmpty else {
            throw UpstreamFailure(kind: .authFailed, message: "OAuth2 token response has no access_token")
        }
        // The lifetime is the endpoint's to choose, within reason: clamped so it cannot overflow clock arithmetic.
        let lifetime = Duration.seconds(min(max(json?["expires_in"]?.intValue ?? 3600, 1), 86_400))
        return (token, lifetime, json?["refresh_token"]?.stringValue)
    }

    private static func formEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(Character(Unicode.Scalar(byte)))
            default:
                output += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return output
    }
}
