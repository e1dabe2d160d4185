/// The circuit breaker of one target or credential, as a value-type state machine.
///
/// Closed → open after `failures` consecutive failures, or when the error rate over the window passes
/// `errorRate`; open → half-open once the cooldown has passed, admitting `halfOpenProbes` requests at a
/// time; half-open → closed on a success, back to open on a failure. Events return the transition so the
/// caller can log and count it; the breaker itself does no I/O.
public struct CircuitBreaker: Sendable {
    public enum State: Sendable, Hashable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen
    }

    /// A state change worth logging.
    public enum Transition: Sendable, Hashable {
        case opened(until: ContinuousClock.Instant)
        case halfOpened
        case closed
    }

    public private(set) var state: State = .closed
    public let config: CircuitBreakerConfig
    private var consecutiveFailures = 0
    private var probesInFlight = 0
    private var window: [(at: ContinuousClock.Instant, failed: Bool)] = []

    public init(config: CircuitBreakerConfig) {
        self.config = config
    }

    /// Whether a request may go to this target now; in half-open, admitting takes a probe slot.
    public mutating func admit(now: ContinuousClock.Instant) -> (allowed: Bool, transition: Transition?) {
        switch state {
        case .closed:
            return (true, nil)
        case .open(let until):
            guard now >= until else { return (false, nil) }
            state = .halfOpen
            probesInFlight = 1
            return (true, .halfOpened)
        case .halfOpen:
            guard probesInFlight < config.halfOpenProbes else { return (false, nil) }
            probesInFlight += 1
            return (true, nil)
        }
    }

    public mutating func recordSuccess(now: ContinuousClock.Instant) -> Transition? {
        consecutiveFailures = 0
        appendToWindow(now: now, failed: false)
        switch state {
        case .closed, .open:
            return nil
        case .halfOpen:
            state = .closed
            probesInFlight = 0
            window.removeAll()
            return .closed
        }
    }

    /// Records a failure that says the target is unhealthy.
    public mutating func recordFailure(now: ContinuousClock.Instant) -> Transition? {
        consecutiveFailures += 1
        appendToWindow(now: now, failed: true)
        switch state {
        case .open:
            return nil
        case .halfOpen:
            return open(now: now)
        case .closed:
            if consecutiveFailures >= config.failures || errorRateExceeded { return open(now: now) }
            return nil
        }
    }

    /// Releases a half-open probe slot for an attempt that ended without a verdict on health
    /// (for example a client error).
    public mutating func recordNeutral() {
        if case .halfOpen = state, probesInFlight > 0 { probesInFlight -= 1 }
    }

    private mutating func open(now: ContinuousClock.Instant) -> Transition {
        let until = now + config.cooldown
        state = .open(until: until)
        probesInFlight = 0
        consecutiveFailures = 0
        window.removeAll()
        return .opened(until: until)
    }

    private mutating func appendToWindow(now: ContinuousClock.Instant, failed: Bool) {
        guard config.errorRate != nil else { return }
        window.append((now, failed))
        let horizon = now - config.window
        if let firstKept = window.firstIndex(where: { $0.at >= horizon }), firstKept > 0 {
            window.removeFirst(firstKept)
        }
        // Bound memory under very high request rates; the rate is judged on the most recent requests.
        if window.count > 10_000 { window.removeFirst(window.count - 10_000) }
    }

    private var errorRateExceeded: Bool {
        guard let threshold = config.errorRate, window.count >= config.minimumRequests else { return false }
        let failures = window.reduce(0) { $0 + ($1.failed ? 1 : 0) }
        return Double(failures) / Double(window.count) >= threshold
    }
}
