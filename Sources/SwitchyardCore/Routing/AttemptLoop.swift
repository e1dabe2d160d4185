public import Logging

/// One upstream attempt as recorded for the response headers, logs and the final error.
public struct AttemptRecord: Sendable, Hashable {
    public var target: String
    public var credentialIndex: Int
    public var failure: UpstreamFailure?
    /// How long the attempt took, on the real clock (for the request log).
    public var latency: Duration?

    public init(target: String, credentialIndex: Int, failure: UpstreamFailure?, latency: Duration? = nil) {
        self.target = target
        self.credentialIndex = credentialIndex
        self.failure = failure
        self.latency = latency
    }
}

/// The outcome of the attempt loop: which target answered and what was tried on the way.
public struct ExecutionReport: Sendable {
    public var attempts: [AttemptRecord]
    /// `provider/model` that answered.
    public var target: String?
    /// Targets skipped without an attempt, and why.
    public var skipped: [String]
    /// Why targets could not serve this request at all (checked before sending); when no target could,
    /// the first of these is the client's answer.
    public var unsupported: [UpstreamFailure] = []

    public init(attempts: [AttemptRecord] = [], target: String? = nil, skipped: [String] = []) {
        self.attempts = attempts
        self.target = target
        self.skipped = skipped
    }
}

extension ExecutionReport {
    /// Records why a target was skipped, once however many passes skip it; says whether it was new.
    @discardableResult
    mutating func noteSkipped(_ reason: String) -> Bool {
        guard !skipped.contains(reason) else { return false }
        skipped.append(reason)
        return true
    }
}

/// A request that no target answered.
public struct ExecutionFailure: Error, Sendable {
    public var error: GatewayError {
        get { box.value.error }
        set { box = HeapBox((newValue, box.value.report)) }
    }
    public var report: ExecutionReport {
        get { box.value.report }
        set { box = HeapBox((box.value.error, newValue)) }
    }

    /// Held by reference (see ``HeapBox``).
    private var box: HeapBox<(error: GatewayError, report: ExecutionReport)>

    public init(error: GatewayError, report: ExecutionReport) {
        box = HeapBox((error, report))
    }
}

/// What one attempt gets to work with.
public struct AttemptContext: Sendable {
    public var target: TargetState
    public var credential: CredentialSlot
    /// By when the response head (or a stream's first event) must arrive: the provider's `first_byte`
    /// timeout, within the request's deadline.
    public var firstByteDeadline: ContinuousClock.Instant
    /// By when the request must have its answer (`routing.deadline`): a stream's first content, a
    /// complete response's head.
    public var answerDeadline: ContinuousClock.Instant
    /// By when the attempt must be over (`timeout.total`): a stream may run this long, past the request deadline.
    public var deadline: ContinuousClock.Instant
}

/// The one failover loop (DESIGN §4): targets in strategy order, each target's usable credentials,
/// bounded attempts and a total deadline, backoff with full jitter between passes over the same targets.
public struct AttemptLoop: Sendable {
    public let routing: RoutingConfig
    public let timeSource: any TimeSource
    public let observer: RoutingObserver
    /// Scrubs the config's secrets (and minted tokens) from upstream messages before they are logged or answered.
    public let redactor: SecretRedactor
    /// Attempt spans, when tracing is on.
    public let tracing: AttemptTracing?

    public init(
        routing: RoutingConfig, timeSource: any TimeSource = SystemTimeSource(), observer: RoutingObserver = RoutingObserver(),
        redactor: SecretRedactor = SecretRedactor(), tracing: AttemptTracing? = nil
    ) {
        self.tracing = tracing
        self.routing = routing
        self.timeSource = timeSource
        self.observer = observer
        self.redactor = redactor
    }

    /// Runs `attempt` against the route's targets until one succeeds or failover is exhausted.
    public func run<T: Sendable>(
        route: ResolvedRoute,
        deadline: ContinuousClock.Instant,
        logger: Logger,
        attempt: (AttemptContext) async throws(UpstreamFailure) -> T
    ) async throws(ExecutionFailure) -> (T, ExecutionReport) {
        var report = ExecutionReport()
        var generator = SystemRandomNumberGenerator()
        let backoff = Backoff(base: routing.backoffBase, maximum: routing.backoffMax)
        let ordered = TargetOrdering.order(route, using: &generator)
        var pass = 0
        passes: while report.attempts.count < routing.attempts {
            if pass > 0 {
                let delay = backoff.delay(retry: pass - 1, using: &generator)
                if timeSource.now + delay >= deadline { break }
                do { try await timeSource.sleep(for: delay) } catch { break }
            }
            var attemptedThisPass = false
            for target in ordered {
                // One reading of the clock per step: each costs a system call's worth of work.
                let now = timeSource.now
                guard report.attempts.count < routing.attempts, now < deadline else { break passes }
                let admission = target.admit(now: now)
                if let transition = admission.transition { observer.breakerChanged(target: target, transition: transition, now: now, logger: logger) }
                guard admission.allowed else {
                    if pass == 0 { report.skipped.append("\(target.name): circuit open") }
                    continue
                }
                target.acquire()
                let outcome = await visit(target, of: route, deadline: deadline, report: &report, logger: logger, attempt: attempt)
                let finished = timeSource.now
                let transition: CircuitBreaker.Transition?
                switch outcome {
                case .answered: transition = target.record(failure: nil, latency: finished - now, now: finished)
                case .failed(let kind): transition = target.record(failure: kind, latency: nil, now: finished)
                case .untried, .skipped, .ended:
                    // No verdict on the target's health: give back the breaker's probe slot.
                    target.releaseUntried()
                    transition = nil
                    if pass == 0, case .untried = outcome { report.skipped.append("\(target.name): no usable credential") }
                }
                if let transition { observer.breakerChanged(target: target, transition: transition, now: finished, logger: logger) }
                switch outcome {
                case .answered(let value, let slot):
                    report.target = target.name
                    // A stream keeps its target and credential in flight until it ends.
                    if let holder = value as? any InFlightHolder {
                        holder.hold(InFlightLease(target: target, credential: slot))
                    } else {
                        slot.release()
                        target.release()
                    }
                    return (value, report)
                case .failed(let kind):
                    target.release()
                    attemptedThisPass = true
                    if !kind.allowsFailover, let failure = report.attempts.last?.failure {
                        throw ExecutionFailure(error: GatewayError.upstream(failure, target: target.name), report: report)
                    }
                case .untried, .skipped:
                    target.release()
                case .ended(let error):
                    target.release()
                    throw ExecutionFailure(error: error, report: report)
                }
            }
            if !attemptedThisPass { break }
            pass += 1
        }
        throw ExecutionFailure(error: exhausted(report, deadline: deadline), report: report)
    }

    private enum VisitOutcome<T> {
        case answered(T, CredentialSlot)
        case failed(FailureKind)
        /// No credential was usable.
        case untried
        /// The target could not take this request (its reason is in the report).
        case skipped
        /// The request is over without a verdict on anyone's health: cancelled, or the client's own mistake.
        case ended(GatewayError)
    }

    /// Tries a target's credentials in turn: a credential problem moves to the next credential, anything
    /// else ends the visit.
    private func visit<T: Sendable>(
        _ target: TargetState,
        of route: ResolvedRoute,
        deadline: ContinuousClock.Instant,
        report: inout ExecutionReport,
        logger: Logger,
        attempt: (AttemptContext) async throws(UpstreamFailure) -> T
    ) async -> VisitOutcome<T> {
        var lastFailure: FailureKind?
        for slot in target.provider.credentialOrder(now: timeSource.now) {
            let now = timeSource.now
            guard report.attempts.count < routing.attempts, now < deadline else { break }
            guard slot.isUsable(now: now) || slot.claimProbe(now: now, cooldown: routing.circuitBreaker.cooldown) else { continue }
            let admission = slot.admit(now: now)
            if let transition = admission.transition { observer.credentialBreakerChanged(provider: target.provider, slot: slot, transition: transition, logger: logger) }
            guard admission.allowed else { continue }
            let context = makeContext(target: target, slot: slot, deadline: deadline)
            slot.acquire()
            let started = ContinuousClock.now
            do {
                let value: T
                if let tracing {
                    value = try await tracing.run(target: target, credentialIndex: slot.index) { () async throws(UpstreamFailure) -> T in try await attempt(context) }
                } else {
                    value = try await attempt(context)
                }
                let answeredAt = timeSource.now
                if let transition = slot.recordHealth(failure: nil, now: answeredAt) {
                    observer.credentialBreakerChanged(provider: target.provider, slot: slot, transition: transition, logger: logger)
                }
                if slot.record(failure: nil, now: answeredAt).restored {
                    observer.credentialRestored(provider: target.provider, slot: slot, logger: logger)
                }
                report.attempts.append(AttemptRecord(target: target.name, credentialIndex: slot.index, failure: nil, latency: .now - started))
                target.countAttempt(failure: nil)
                return .answered(value, slot)
            } catch {
                let error = redactor.redact(error)
                switch settle(error, target: target, slot: slot, route: route, started: started, report: &report, logger: logger) {
                case .ended(let ending): return .ended(ending)
                case .skipped: return .skipped
                case .counted(let disabled):
                    if disabled {
                        await slot.credential.invalidate()
                        observer.credentialDisabled(provider: target.provider, slot: slot, failure: error, logger: logger)
                    }
                    noteCounted(error, target: target, slot: slot, started: started, report: &report, logger: logger)
                    lastFailure = error.kind
                    guard error.kind.concernsCredential else { return .failed(error.kind) }
                }
            }
        }
        return lastFailure.map { .failed($0) } ?? .untried
    }

    /// What a failed attempt means for the visit.
    private enum FailureVerdict {
        case ended(GatewayError)
        case skipped
        /// It counts against the credential and target; `disabled` when the credential is now unusable.
        case counted(disabled: Bool)
    }

    // The bookkeeping of a failure is synchronous and kept out of `visit`: an async function's frame holds
    // everything inlined into it, and it stays allocated in the task for as long as a stream runs.
    @inline(never)
    private func settle(
        _ error: UpstreamFailure, target: TargetState, slot: CredentialSlot, route: ResolvedRoute, started: ContinuousClock.Instant,
        report: inout ExecutionReport, logger: Logger
    ) -> FailureVerdict {
        slot.release()
        // The client named a model the vendor does not have: its mistake, counted against nobody.
        let isClientMistake = error.kind == .modelNotFound && route.isDirect
        if error.origin != .upstream || isClientMistake { slot.releaseUntried() }
        switch error.origin {
        case .upstream:
            if isClientMistake {
                report.attempts.append(AttemptRecord(target: target.name, credentialIndex: slot.index, failure: error, latency: .now - started))
                return .ended(.upstream(error, target: target.name))
            }
        case .cancelled:
            // The client went away or the gateway is shutting down: no verdict on anyone's health.
            report.attempts.append(AttemptRecord(target: target.name, credentialIndex: slot.index, failure: error, latency: .now - started))
            observer.attemptCancelled(target: target, logger: logger)
            return .ended(.cancelled)
        case .gatewaySaturated:
            // The gateway's own limit, not the provider's fault: try elsewhere, count against nobody.
            logger.warning("Upstream connection limit reached", metadata: ["target": "\(target.name)", "provider": "\(target.provider.name)"])
            report.noteSkipped("\(target.name): gateway connection limit reached")
            return .skipped
        case .unsupported:
            // Nothing was sent: the next capable target is tried, and this one is not counted as attempted.
            if report.noteSkipped("\(target.name): \(error.message)") { report.unsupported.append(error) }
            return .skipped
        }
        if let transition = slot.recordHealth(failure: error.kind, now: timeSource.now) {
            observer.credentialBreakerChanged(provider: target.provider, slot: slot, transition: transition, logger: logger)
        }
        return .counted(disabled: slot.record(failure: error, now: timeSource.now).disabled)
    }

    @inline(never)
    private func noteCounted(
        _ error: UpstreamFailure, target: TargetState, slot: CredentialSlot, started: ContinuousClock.Instant, report: inout ExecutionReport, logger: Logger
    ) {
        report.attempts.append(AttemptRecord(target: target.name, credentialIndex: slot.index, failure: error, latency: .now - started))
        target.countAttempt(failure: error.kind)
        observer.attemptFailed(target: target, slot: slot, failure: error, logger: logger)
        if error.kind == .modelNotFound { observer.targetMisconfigured(target: target, failure: error, logger: logger) }
    }

    private func makeContext(target: TargetState, slot: CredentialSlot, deadline: ContinuousClock.Instant) -> AttemptContext {
        let now = timeSource.now
        let timeout = target.provider.config.timeout
        let attemptDeadline = now + timeout.total
        return AttemptContext(
            target: target, credential: slot, firstByteDeadline: min(deadline, attemptDeadline, now + timeout.firstByte),
            answerDeadline: min(deadline, attemptDeadline), deadline: attemptDeadline)
    }

    /// The single error for a request whose every attempt failed or that had nothing to try.
    private func exhausted(_ report: ExecutionReport, deadline: ContinuousClock.Instant) -> GatewayError {
        let failures = report.attempts.compactMap(\.failure)
        if failures.isEmpty, let unsupported = report.unsupported.first {
            // No target could take the request at all: that is about the request, and the client hears why.
            return GatewayError(code: .invalidRequest, status: 400, message: unsupported.message, failureKind: .invalidRequest)
        }
        var tried = report.attempts.map { record in
            "\(record.target) (key #\(record.credentialIndex)): \(record.failure.map { "\($0.kind.rawValue)\($0.status.map { " \($0)" } ?? "")" } ?? "ok")"
        }
        tried.append(contentsOf: report.skipped)
        let summary = tried.isEmpty ? "no target could be tried" : tried.joined(separator: "; ")
        if !failures.isEmpty, failures.allSatisfy({ $0.kind == .rateLimited }) {
            let wait = failures.compactMap(\.retryAfter).min()
            return GatewayError(
                code: .rateLimited, status: 429, message: "Every target is rate limited. Tried: \(summary).", failureKind: .rateLimited, retryAfter: wait)
        }
        if timeSource.now >= deadline, !failures.isEmpty {
            return GatewayError(code: .timeout, status: 504, message: "The request deadline passed. Tried: \(summary).", failureKind: .timeout)
        }
        if !failures.isEmpty, failures.allSatisfy({ $0.kind == .overloaded }) {
            return GatewayError(code: .overloaded, status: 503, message: "Every target is overloaded. Tried: \(summary).", failureKind: .overloaded)
        }
        if !failures.isEmpty, failures.allSatisfy({ $0.kind.disablesCredential }) {
            // Not an overload: every provider refused the gateway's own credentials (revoked keys, spent quota).
            return GatewayError(
                code: .unavailable, status: 503,
                message: "The providers refused the gateway's credentials (revoked, expired or out of quota); an operator must fix the provider keys. Tried: \(summary).",
                failureKind: failures.last?.kind ?? .authFailed)
        }
        return GatewayError(
            code: .unavailable, status: 503, message: "No provider could answer this request. Tried: \(summary).",
            failureKind: failures.last?.kind ?? .unavailable)
    }
}
