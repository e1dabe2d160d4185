import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now

    @Test func opensAfterConsecutiveFailuresThenHalfOpensAndCloses() {
        var breaker = CircuitBreaker(config: CircuitBreakerConfig(failures: 3, cooldown: .seconds(30), halfOpenProbes: 1))
        #expect(breaker.recordFailure(now: start) == nil)
        #expect(breaker.recordFailure(now: start) == nil)
        #expect(breaker.recordFailure(now: start) == .opened(until: start + .seconds(30)))
        #expect(breaker.admit(now: start + .seconds(29)).allowed == false)
        let probe = breaker.admit(now: start + .seconds(30))
        #expect(probe.allowed && probe.transition == .halfOpened)
        // Only one probe at a time while half-open.
        #expect(breaker.admit(now: start + .seconds(30)).allowed == false)
        #expect(breaker.recordSuccess(now: start + .seconds(31)) == .closed)
        #expect(breaker.admit(now: start + .seconds(31)).allowed)
    }

    @Test func aFailedProbeReopens() {
        var breaker = CircuitBreaker(config: CircuitBreakerConfig(failures: 1, cooldown: .seconds(10)))
        _ = breaker.recordFailure(now: start)
        _ = breaker.admit(now: start + .seconds(10))
        #expect(breaker.recordFailure(now: start + .seconds(11)) == .opened(until: start + .seconds(21)))
    }

    @Test func successResetsTheConsecutiveCount() {
        var breaker = CircuitBreaker(config: CircuitBreakerConfig(failures: 2))
        _ = breaker.recordFailure(now: start)
        _ = breaker.recordSuccess(now: start)
        #expect(breaker.recordFailure(now: start) == nil)
        #expect(breaker.state == .closed)
    }

    @Test func opensOnErrorRateOverTheWindow() {
        var breaker = CircuitBreaker(
            config: CircuitBreakerConfig(failures: 100, cooldown: .seconds(5), errorRate: 0.5, window: .seconds(60), minimumRequests: 10))
        var transition: CircuitBreaker.Transition?
        for index in 0..<10 {
            let now = start + .seconds(index)
            transition = index.isMultiple(of: 2) ? breaker.recordSuccess(now: now) : breaker.recordFailure(now: now)
        }
        #expect(transition == .opened(until: start + .seconds(9) + .seconds(5)))
    }

    @Test func neutralOutcomesReleaseProbeSlots() {
        var breaker = CircuitBreaker(config: CircuitBreakerConfig(failures: 1, cooldown: .seconds(1)))
        _ = breaker.recordFailure(now: start)
        #expect(breaker.admit(now: start + .seconds(1)).allowed)
        breaker.recordNeutral()
        #expect(breaker.admit(now: start + .seconds(1)).allowed)
    }
}

@Suite struct BackoffTests {
    /// Full jitter: every delay lies in [0, min(max, base·2^retry)], and the delays actually fill that range
    /// (a backoff that always returned zero, or the ceiling, fails).
    @Test func fullJitterFillsTheCappedExponentialRange() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(1))
        var generator = SplitMix64(seed: 7)
        for retry in 0..<10 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << retry))
            let delays = (0..<400).map { _ in backoff.delay(retry: retry, using: &generator) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            let mean = delays.reduce(Duration.zero, +) / delays.count
            #expect(mean > ceiling * 0.4 && mean < ceiling * 0.6, "mean \(mean) for ceiling \(ceiling)")
            #expect(delays.max()! > ceiling * 0.9 && delays.min()! < ceiling * 0.1)
        }
    }

    @Test func hugeRetryCountsStayAtTheMaximum() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(5))
        var generator = SplitMix64(seed: 1)
        let delays = (0..<200).map { _ in backoff.delay(retry: 10_000, using: &generator) }
        #expect(delays.allSatisfy { $0 <= .seconds(5) })
        #expect(delays.max()! > .seconds(4))
    }
}

