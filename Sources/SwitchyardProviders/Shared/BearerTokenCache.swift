import NIOCore
import SwitchyardCore
import Synchronization

/// A bearer token shared by every request of one credential, fetched again shortly before it expires.
///
/// Concurrent requests that find no valid token share one fetch: the first performs it, the others wait
/// for its result. Requests with a valid token take only a short lock, never a network call or an actor hop.
final class BearerTokenCache: Sendable {
    /// A token and how long the issuer says it lives.
    struct Minted: Sendable {
        var token: String
        var lifetime: Duration
    }

    private struct State {
        var accessToken: String?
        var expiresAt: ContinuousClock.Instant?
        var isRefreshing = false
        var waiters: [CheckedContinuation<String, any Error>] = []
        /// How the last fetch failed, for a waiter that arrives just after it ended.
        var lastFailure: UpstreamFailure?
    }

    private let timeSource: any TimeSource
    private let refreshMargin: Duration
    private let failureLabel: String
    private let state = Mutex(State())

    /// - Parameters:
    ///   - refreshMargin: fetch anew this long before expiry (at half the lifetime for short-lived tokens).
    ///   - failureLabel: names the credential in the failure a waiter gets when no reason is known.
    init(timeSource: any TimeSource, refreshMargin: Duration, failureLabel: String) {
        self.timeSource = timeSource
        self.refreshMargin = refreshMargin
        self.failureLabel = failureLabel
    }

    func invalidate() {
        state.withLock {
            $0.accessToken = nil
            $0.expiresAt = nil
        }
    }

    private enum Step {
        case use(String)
        case fetch
        case wait
    }

    /// The cached token, or one `fetch` obtains (once, however many callers are waiting).
    func token(fetch: () async throws(UpstreamFailure) -> Minted) async throws(UpstreamFailure) -> String {
        let now = timeSource.now
        let step: Step = state.withLock { state in
            if let token = state.accessToken, let expiry = state.expiresAt, now < expiry { return .use(token) }
            if state.isRefreshing { return .wait }
            state.isRefreshing = true
            return .fetch
        }
        switch step {
        case .use(let token):
            return token
        case .fetch:
            return try await refresh(fetch: fetch)
        case .wait:
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    // The fetch may have ended between deciding to wait and getting here: then its outcome
                    // is answered now, since nobody would wake this waiter later.
                    let outcome: Result<String, UpstreamFailure>? = state.withLock { state in
                        if state.isRefreshing {
                            state.waiters.append(continuation)
                            return nil
                        }
                        if let token = state.accessToken { return .success(token) }
                        return .failure(state.lastFailure ?? UpstreamFailure(kind: .authFailed, message: "\(failureLabel): token refresh failed"))
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } catch let failure as UpstreamFailure {
                throw failure
            } catch {
                throw UpstreamFailure(kind: .authFailed, message: "\(failureLabel): token refresh failed")
            }
        }
    }

    private func refresh(fetch: () async throws(UpstreamFailure) -> Minted) async throws(UpstreamFailure) -> String {
        let result: Result<Minted, UpstreamFailure>
        do { result = .success(try await fetch()) } catch { result = .failure(error) }
        let now = timeSource.now
        let waiters: [CheckedContinuation<String, any Error>] = state.withLock { state in
            state.isRefreshing = false
            switch result {
            case .success(let minted):
                state.lastFailure = nil
                state.accessToken = minted.token
                state.expiresAt = now + minted.lifetime - min(refreshMargin, minted.lifetime / 2)
            case .failure(let failure):
                state.lastFailure = failure
            }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        switch result {
        case .success(let minted):
            for waiter in waiters { waiter.resume(returning: minted.token) }
            return minted.token
        case .failure(let failure):
            for waiter in waiters { waiter.resume(throwing: failure) }
            throw failure
        }
    }
}

/// Token endpoint plumbing shared by the OAuth2 grants and Google's JWT-bearer grant.
enum TokenEndpoint {
    /// POSTs a form and returns the parsed JSON answer; a 4xx (other than 429) means the credential itself
    /// is refused (`invalid_grant`, `invalid_client`), named with the endpoint's own reason, never the secret.
    static func request(
        _ form: [(String, String)], to url: String, transport: any UpstreamTransport, label: String
    ) async throws(UpstreamFailure) -> JSONValue {
        let body = form.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
        let request = UpstreamRequest(
            method: "POST", url: url, headers: ["content-type": "application/x-www-form-urlencoded", "accept": "application/json"],
            body: ByteBuffer(string: body))
        let response = try await transport.execute(request, headDeadline: .now + .seconds(30))
        let bytes: ByteBuffer
        do { bytes = try await response.body.collect(upTo: 1 << 20) } catch {
            throw UpstreamFailure(kind: .unavailable, message: "\(label): the token endpoint closed the connection")
        }
        let json = try? JSONParser.parse(bytes.readableBytesView)
        guard response.head.isSuccess else {
            let error = json?["error"]?.stringValue ?? "HTTP \(response.head.status)"
            let reason = json?["error_description"]?.stringValue.map { ": \($0.prefix(200))" } ?? ""
            let kind: FailureKind = (400..<500).contains(response.head.status) && response.head.status != 429 ? .authFailed : .unavailable
            throw UpstreamFailure(kind: kind, status: response.head.status, message: "\(label): token request failed: \(error)\(reason)")
        }
        guard let json else { throw UpstreamFailure(kind: .unavailable, message: "\(label): the token endpoint sent no JSON") }
        return json
    }

    /// `access_token` and `expires_in` (a number or, from some Google endpoints, a string), clamped so an
    /// endpoint cannot overflow clock arithmetic.
    static func minted(_ json: JSONValue, label: String) throws(UpstreamFailure) -> BearerTokenCache.Minted {
        guard let token = json["access_token"]?.stringValue, !token.isEmpty else {
            throw UpstreamFailure(kind: .authFailed, message: "\(label): the token response has no access_token")
        }
        let seconds = json["expires_in"]?.intValue ?? json["expires_in"]?.stringValue.flatMap { Int($0.prefix(12)) } ?? 3600
        return BearerTokenCache.Minted(token: token, lifetime: .seconds(min(max(seconds, 1), 86_400)))
    }

    static func formEncode(_ text: String) -> String {
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
