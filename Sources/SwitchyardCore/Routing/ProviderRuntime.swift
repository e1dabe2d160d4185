public import CoreMetrics
import Synchronization

/// A configured provider at run time: its adapter, its credentials and their rotation.
public final class ProviderRuntime: Sendable {
    public let config: ProviderConfig
    public let adapter: any ChatProvider
    public let credentials: [CredentialSlot]
    /// Carries this provider's requests, with its own timeouts and connection limit.
    public let transport: any UpstreamTransport
    private let rotation = Atomic<Int>(0)

    /// - Parameter breaker: circuit-breaker settings of each credential (the routing section's).
    public init(
        config: ProviderConfig, adapter: any ChatProvider, credentials: [any Credential], transport: any UpstreamTransport,
        breaker: CircuitBreakerConfig = CircuitBreakerConfig()
    ) {
        self.config = config
        self.adapter = adapter
        self.transport = transport
        self.credentials = credentials.enumerated().map { CredentialSlot(index: $0.offset, credential: $0.element, breaker: breaker) }
    }

    public var name: String { config.name }

    /// Credentials in the order to try them: usable ones starting from a rotating position (round
    /// robin), then, as a last resort, disabled ones, so that a revoked key that came back is found again.
    public func credentialOrder(now: ContinuousClock.Instant) -> [CredentialSlot] {
        let count = credentials.count
        guard count > 1 else { return credentials }
        let start = rotation.wrappingAdd(1, ordering: .relaxed).oldValue
        var usable: [CredentialSlot] = []
        var unusable: [CredentialSlot] = []
        usable.reserveCapacity(count)
        for offset in 0..<count {
            let slot = credentials[(start &+ offset) % count]
            if slot.isUsable(now: now) { usable.append(slot) } else { unusable.append(slot) }
        }
        if config.keySelection == .leastUsed {
            // Stable on ties, so equal loads still rotate.
            usable = usable.enumerated().sorted { ($0.element.inFlight, $0.offset) < ($1.element.inFlight, $1.offset) }.map(\.element)
        }
        return usable + unusable
    }
}

/// One `provider/model` at run time, with its circuit breaker and recent latency.
public final class TargetState: Sendable {
    public let ref: TargetRef
    public let provider: ProviderRuntime
    private let breaker: Mutex<CircuitBreaker>
    private let stats: Mutex<Stats>

    private struct Stats {
        var latencyEWMA: Double?
        /// Share of recent attempts that failed, as an exponentially weighted average (about the last 20).
        var errorRateEWMA = 0.0
        var inFlight = 0
        var successes = 0
        var failures = 0
        var lastFailure: FailureKind?
        var circuitOpenings = 0
    }

    /// The target's counters (attempts, tokens, cost, time to first byte), created once.
    public let metrics: TargetMetrics

    /// - Parameter metricsLabel: the `target` label of its metrics; its own name unless it is one of many direct targets.
    public init(
        ref: TargetRef, provider: ProviderRuntime, breaker: CircuitBreakerConfig, metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        metricsLabel: String? = nil
    ) {
        self.ref = ref
        self.name = ref.description
        self.provider = provider
        self.metrics = TargetMetrics(target: ref, label: metricsLabel, factory: metrics)
        self.breaker = Mutex(CircuitBreaker(config: breaker))
        self.stats = Mutex(Stats())
    }

    /// `provider/model`, made once: requests compare and report it.
    public let name: String

    public var breakerState: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// Asks the breaker for permission to send one attempt.
    public func admit(now: ContinuousClock.Instant) -> (allowed: Bool, transition: CircuitBreaker.Transition?) {
        breaker.withLock { $0.admit(now: now) }
    }

    /// Counts a request that starts using this target.
    public func acquire() {
        metrics.inFlight.record(stats.withLock { stats in
            stats.inFlight += 1
            return stats.inFlight
        })
    }

    /// Counts a request that stopped using this target (for a stream: when the stream ended).
    public func release() {
        metrics.inFlight.record(stats.withLock { stats in
            stats.inFlight -= 1
            return stats.inFlight
        })
    }

    /// Counts one upstream attempt and its outcome (for the admin view).
    public func countAttempt(failure: FailureKind?) {
        metrics.count(failure)
        stats.withLock { stats in
            if let failure {
                stats.failures += 1
                stats.lastFailure = failure
            } else {
                stats.successes += 1
            }
            stats.errorRateEWMA = 0.95 * stats.errorRateEWMA + 0.05 * (failure == nil ? 0 : 1)
        }
    }

    /// Gives back a half-open probe slot taken by ``admit(now:)`` when no attempt was sent after all.
    public func releaseUntried() {
        breaker.withLock { $0.recordNeutral() }
    }

    /// Records the outcome of a visit to this target (its credentials tried in turn) for the breaker and,
    /// on success, the time to the answer for the latency strategy; returns the breaker transition, if any.
    public func record(failure: FailureKind?, latency: Duration?, now: ContinuousClock.Instant) -> CircuitBreaker.Transition? {
        if let latency {
            let sample = latency.seconds
            stats.withLock { stats in stats.latencyEWMA = stats.latencyEWMA.map { 0.8 * $0 + 0.2 * sample } ?? sample }
        }
        let transition = breaker.withLock { breaker -> CircuitBreaker.Transition? in
            guard let failure else { return breaker.recordSuccess(now: now) }
            if failure.countsAgainstHealth { return breaker.recordFailure(now: now) }
            breaker.recordNeutral()
            return nil
        }
        if case .opened? = transition { stats.withLock { $0.circuitOpenings += 1 } }
        return transition
    }

    /// How often this target's circuit has opened.
    public var circuitOpenings: Int { stats.withLock { $0.circuitOpenings } }

    public var latencyEWMA: Double? { stats.withLock { $0.latencyEWMA } }
    public var recentErrorRate: Double { stats.withLock { $0.errorRateEWMA } }
    public var inFlight: Int { stats.withLock { $0.inFlight } }
    public var counts: (successes: Int, failures: Int, lastFailure: FailureKind?) {
        stats.withLock { ($0.successes, $0.failures, $0.lastFailure) }
    }
}
