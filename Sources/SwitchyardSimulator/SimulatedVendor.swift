import SwitchyardCore
import Synchronization

/// An in-process fake vendor speaking a real wire format (OpenAI, Anthropic, Gemini or Vertex AI),
/// scriptable per request.
///
/// Tests queue scenarios (``enqueue(_:)``) and read what the vendor received (``requests``); `switchyard
/// demo` uses the default behaviour with realistic latency and, for one vendor, a failure schedule.
public final class SimulatedVendor: Sendable {
    public enum Format: String, Sendable {
        case openai
        case anthropic
        /// Google AI Studio: `generateContent` with `x-goog-api-key`.
        case gemini
        /// Vertex AI: Gemini and Claude models, bearer tokens from service accounts (``trustServiceAccount(email:publicKeyPEM:)``).
        case vertex
        /// Azure OpenAI: deployments, `api-key` or Entra bearer tokens, filter annotations in answers.
        case azure
        /// AWS Bedrock Converse: SigV4 verified against ``trustAWSCredentials(accessKeyID:secretAccessKey:)``, or API keys.
        case bedrock
    }

    public let name: String
    public let format: Format
    private let state: Mutex<State>
    private let eventContinuation: AsyncStream<SimulatorEvent>.Continuation
    /// Everything the vendor observed, in order.
    public let events: AsyncStream<SimulatorEvent>
    /// How many recent requests and webhook posts are kept for inspection: a long-running demo must not grow.
    public let retainedRequests: Int

    private struct State {
        var script: [SimulatorScenario] = []
        var defaultReply: SimulatedReply
        /// Every `failEvery`-th request (1-based) gets `scheduledFailure` instead of the default reply.
        var failEvery: Int?
        var scheduledFailure: SimulatorScenario?
        /// Share of requests (0–1) failed at random with `scheduledFailure`, from a seeded generator.
        var randomFailureRate: Double = 0
        var random = SplitMix64(seed: 0)
        /// The most recent requests (between `retainedRequests` and twice that); `requestCount` counts all of them.
        var requests: [RecordedRequest] = []
        var requestCount = 0
        var hooks: [RecordedRequest] = []
        var tokenRequests = 0
        var reportedUsage = (prompt: 0, completion: 0)
        var tokenLifetime = 3600
        var rejectTokens = false
        var issuedTokens: Set<String> = []
        /// Whether every API key is refused, as when a vendor revokes an access method.
        var keysRevoked = false
        /// AWS access keys whose signatures Bedrock verifies: access key id → secret.
        var awsCredentials: [String: String] = [:]
        /// Service accounts whose JWTs the token endpoint accepts: email → public key PEM.
        var serviceAccounts: [String: String] = [:]
    }

    /// - Parameters:
    ///   - defaultReply: the answer when no scenario is queued.
    ///   - retainedRequests: how many of the latest requests ``requests`` keeps (default 10,000).
    public init(name: String, format: Format, defaultReply: SimulatedReply? = nil, retainedRequests: Int = 10_000) {
        self.name = name
        self.format = format
        self.retainedRequests = max(1, retainedRequests)
        self.state = Mutex(State(defaultReply: defaultReply ?? SimulatedReply(text: "Hello from \(name)! This answer was streamed token by token.")))
        (events, eventContinuation) = AsyncStream.makeStream(of: SimulatorEvent.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The usage this vendor reported in the answers it sent (Gemini's thought tokens aside).
    public var reportedUsage: (prompt: Int, completion: Int) { state.withLock { $0.reportedUsage } }

    func noteReportedUsage(prompt: Int, completion: Int) {
        state.withLock { state in
            state.reportedUsage.prompt += prompt
            state.reportedUsage.completion += completion
        }
    }

    /// Queues scenarios for the next requests, in order.
    public func enqueue(_ scenarios: SimulatorScenario...) {
        state.withLock { $0.script.append(contentsOf: scenarios) }
    }

    /// Makes every `period`-th request fail with `failure` (the demo's flaky vendor, drills).
    public func failEvery(_ period: Int?, with failure: SimulatorScenario) {
        state.withLock {
            $0.failEvery = period
            $0.scheduledFailure = failure
        }
    }

    /// Fails a `rate` share of requests with `failure`, chosen by a generator seeded with `seed`.
    public func failRandomly(rate: Double, seed: UInt64, with failure: SimulatorScenario) {
        state.withLock {
            $0.randomFailureRate = rate
            $0.random = SplitMix64(seed: seed)
            $0.scheduledFailure = failure
        }
    }

    public func setDefaultReply(_ reply: SimulatedReply) {
        state.withLock { $0.defaultReply = reply }
    }

    /// The latest requests received, at least the last ``retainedRequests`` of them (chat, embeddings, models; token requests
    /// are counted separately).
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// How many requests the vendor received in all.
    public var requestCount: Int { state.withLock { $0.requestCount } }

    /// How many OAuth2 token requests the vendor's token endpoint received.
    public var tokenRequests: Int { state.withLock { $0.tokenRequests } }

    /// Configures the token endpoint: lifetime of issued tokens, or reject every grant.
    public func configureTokens(lifetimeSeconds: Int = 3600, rejectGrants: Bool = false) {
        state.withLock {
            $0.tokenLifetime = lifetimeSeconds
            $0.rejectTokens = rejectGrants
        }
    }

    /// Makes the vendor refuse every API key with its real auth error (`revoked = true`), or accept them again.
    public func setKeysRevoked(_ revoked: Bool) {
        state.withLock { $0.keysRevoked = revoked }
    }

    var keysRevoked: Bool { state.withLock { $0.keysRevoked } }

    /// Lets the Bedrock simulator verify SigV4 signatures made with this key pair.
    public func trustAWSCredentials(accessKeyID: String, secretAccessKey: String) {
        state.withLock { $0.awsCredentials[accessKeyID] = secretAccessKey }
    }

    func awsSecret(accessKeyID: String) -> String? {
        state.withLock { $0.awsCredentials[accessKeyID] }
    }

    /// Lets the token endpoint accept JWTs from `email` signed with the matching private key.
    public func trustServiceAccount(email: String, publicKeyPEM: String) {
        state.withLock { $0.serviceAccounts[email] = publicKeyPEM }
    }

    /// Deletes a service account's key: its JWTs get `invalid_grant` from now on (tokens already issued
    /// keep working until ``revokeIssuedTokens()``).
    public func deleteServiceAccountKey(email: String) {
        state.withLock { _ = $0.serviceAccounts.removeValue(forKey: email) }
    }

    func serviceAccountKey(email: String) -> String? {
        state.withLock { $0.serviceAccounts[email] }
    }

    /// Revokes every token issued so far: API calls carrying them get 401.
    public func revokeIssuedTokens() {
        state.withLock { $0.issuedTokens.removeAll() }
    }

    func record(_ request: RecordedRequest) -> SimulatorScenario {
        let scenario = state.withLock { state -> SimulatorScenario in
            state.requests.appendBounded(request, limit: retainedRequests)
            state.requestCount += 1
            if !state.script.isEmpty { return state.script.removeFirst() }
            if let period = state.failEvery, period > 0, let failure = state.scheduledFailure, state.requestCount % period == 0 {
                return failure
            }
            if state.randomFailureRate > 0, let failure = state.scheduledFailure,
                Double(state.random.next() % 1_000_000) / 1_000_000 < state.randomFailureRate
            {
                return failure
            }
            return .reply(state.defaultReply)
        }
        eventContinuation.yield(.requestReceived(path: request.path))
        return scenario
    }

    /// Webhook posts received (see `POST /webhook`).
    public var hooks: [RecordedRequest] { state.withLock { $0.hooks } }

    func recordHook(_ request: RecordedRequest) {
        state.withLock { $0.hooks.appendBounded(request, limit: retainedRequests) }
        eventContinuation.yield(.requestReceived(path: request.path))
    }

    func issueToken() -> (token: String?, lifetime: Int) {
        state.withLock { state in
            state.tokenRequests += 1
            guard !state.rejectTokens else { return (nil, 0) }
            let token = "sim-access-\(state.tokenRequests)"
            state.issuedTokens.insert(token)
            return (token, state.tokenLifetime)
        }
    }

    /// Counts a token request the endpoint refused before issuing anything.
    func issueTokenRequestRejected() -> Int {
        state.withLock { state in
            state.tokenRequests += 1
            return state.tokenRequests
        }
    }

    /// Whether `token` is one this vendor issued and has not revoked.
    func acceptsToken(_ token: String) -> Bool {
        state.withLock { $0.issuedTokens.contains(token) }
    }

    func emit(_ event: SimulatorEvent) {
        eventContinuation.yield(event)
    }
}

extension Array {
    /// Appends, keeping the latest `limit` elements: the oldest are dropped in one go once the array holds
    /// twice as many, so each append costs amortised O(1).
    fileprivate mutating func appendBounded(_ element: Element, limit: Int) {
        append(element)
        if count >= 2 * limit { removeFirst(count - limit) }
    }
}

/// A small seeded generator (SplitMix64), so simulated failures and distribution tests are reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
