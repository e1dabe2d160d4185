import Synchronization

/// One credential of a provider with its health: usable, cooling down after a rate limit, or disabled
/// (revoked or out of quota) until a probe succeeds or the config is reloaded (a reload builds new slots).
public final class CredentialSlot: Sendable {
    /// Health as seen by this process.
    public enum Health: Sendable, Hashable {
        case usable
        case coolingDown(until: ContinuousClock.Instant)
        case disabled(kind: FailureKind, since: ContinuousClock.Instant)
    }

    /// 0-based position in the provider's `keys` list; logs name credentials by index, never by secret.
    public let index: Int
    public let credential: any Credential
    private let state: Mutex<SlotState>
    /// Server errors and timeouts that follow one key (an account-level outage) open this key's own circuit.
    private let breaker: Mutex<CircuitBreaker>

    public init(index: Int, credential: any Credential, breaker: CircuitBreakerConfig = CircuitBreakerConfig()) {
        self.index = index
        self.credential = credential
        self.state = Mutex(SlotState())
        self.breaker = Mutex(CircuitBreaker(config: breaker))
    }

    public var breakerState: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// Asks this credential's breaker for permission to send one attempt.
    public func admit(now: ContinuousClock.Instant) -> (allowed: Bool, transition: CircuitBreaker.Transition?) {
        breaker.withLock { $0.admit(now: now) }
    }

    /// Gives back a half-open probe slot taken by ``admit(now:)`` when the attempt ended without a verdict
    /// (cancelled, or never sent because the gateway was saturated).
    public func releaseUntried() {
        breaker.withLock { $0.recordNeutral() }
    }

    /// Feeds an attempt's outcome to this credential's breaker; returns its transition, if any.
    public func recordHealth(failure: FailureKind?, now: ContinuousClock.Instant) -> CircuitBreaker.Transition? {
        breaker.withLock { breaker in
            guard let failure else { return breaker.recordSuccess(now: now) }
            if failure.countsAgainstCredentialHealth { return breaker.recordFailure(now: now) }
            breaker.recordNeutral()
            return nil
        }
    }

    private struct SlotState {
        var health: Health = .usable
        var inFlight = 0
        var lastFailure: FailureKind?
        /// What the provider said when it disabled the credential (already scrubbed of secrets), for operators.
        var disabledReason: String?
        /// When a disabled credential may be probed next; each probe pushes it one cooldown further.
        var nextProbe: ContinuousClock.Instant?
    }

    public var health: Health { state.withLock { $0.health } }

    /// Claims the one probe of a disabled credential that is due: at most one request per `cooldown` gets
    /// it, however many arrive at once and however often the probe fails.
    public func claimProbe(now: ContinuousClock.Instant, cooldown: Duration) -> Bool {
        state.withLock { state in
            guard case .disabled(_, let since) = state.health else { return false }
            let due = state.nextProbe ?? since + cooldown
            guard now >= due else { return false }
            state.nextProbe = now + cooldown
            return true
        }
    }
    public var inFlight: Int { state.withLock { $0.inFlight } }
    public var lastFailure: FailureKind? { state.withLock { $0.lastFailure } }
    /// Why the credential is disabled, in the provider's words (at most 300 characters); nil while usable.
    public var disabledReason: String? { state.withLock { $0.disabledReason } }

    /// Whether requests may use this credential now. A disabled credential is retried as a probe only when
    /// every other credential of the provider is unusable too (see ``ProviderRuntime/credentialOrder(now:)``).
    public func isUsable(now: ContinuousClock.Instant) -> Bool {
        switch health {
        case .usable: true
        case .coolingDown(let until): now >= until
        case .disabled: false
        }
    }

    /// Counts a request that starts using this credential.
    public func acquire() {
        state.withLock { $0.inFlight += 1 }
    }

    /// Counts a request that stopped using this credential (for a stream: when the stream ended).
    public func release() {
        state.withLock { $0.inFlight -= 1 }
    }

    /// Records the outcome of an attempt; says whether the credential was restored or disabled by it.
    @discardableResult
    public func record(failure: UpstreamFailure?, now: ContinuousClock.Instant) -> (restored: Bool, disabled: Bool) {
        state.withLock { state in
            guard let failure else {
                let wasDisabled: Bool
                if case .disabled = state.health { wasDisabled = true } else { wasDisabled = false }
                if case .coolingDown(let until) = state.health, now < until {
                    // Another request already put this credential on cooldown; keep it.
                } else {
                    state.health = .usable
                    state.nextProbe = nil
                    state.disabledReason = nil
                }
                return (wasDisabled, false)
            }
            state.lastFailure = failure.kind
            if failure.kind.disablesCredential {
                if case .disabled = state.health { return (false, false) }
                state.health = .disabled(kind: failure.kind, since: now)
                state.disabledReason = String(failure.message.prefix(300))
                return (false, true)
            }
            if failure.kind == .rateLimited {
                let wait = failure.retryAfter ?? .seconds(1)
                state.health = .coolingDown(until: now + min(wait, .seconds(3600)))
            }
            return (false, false)
        }
    }
}
