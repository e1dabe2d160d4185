import Synchronization

/// Deliberate provider failures for drills: operators make a provider fail with a chosen kind at a chosen
/// rate to see their fallbacks work. Injected failures take the normal path (breakers, failover, alerts).
public final class FaultInjector: Sendable {
    /// One provider's injected fault.
    public struct Fault: Sendable, Hashable {
        public var kind: FailureKind
        /// Share of attempts (0–1) that fail.
        public var rate: Double

        public init(kind: FailureKind, rate: Double) {
            self.kind = kind
            self.rate = rate
        }
    }

    private let faults: Mutex<[String: Fault]>
    /// Lets the hot path skip the lock when no drill is running.
    private let isActive: Atomic<Bool>

    public init(faults: [String: Fault] = [:]) {
        self.faults = Mutex(faults)
        self.isActive = Atomic(!faults.isEmpty)
    }

    public func set(_ fault: Fault?, for provider: String) {
        faults.withLock { faults in
            faults[provider] = fault
            isActive.store(!faults.isEmpty, ordering: .relaxed)
        }
    }

    public var all: [String: Fault] { faults.withLock { $0 } }

    /// The failure to inject into an attempt at `provider`, if the drill says this one fails.
    public func failure(for provider: String) -> UpstreamFailure? {
        guard isActive.load(ordering: .relaxed), let fault = faults.withLock({ $0[provider] }) else { return nil }
        guard Double.random(in: 0..<1) < fault.rate else { return nil }
        let status: Int? =
            switch fault.kind {
            case .rateLimited, .quotaExhausted: 429
            case .overloaded: 503
            case .authFailed: 401
            case .invalidRequest, .contextLengthExceeded, .contentFiltered: 400
            case .modelNotFound: 404
            case .timeout, .unavailable: nil
            }
        return UpstreamFailure(kind: fault.kind, status: status, message: "fault injected for a drill")
    }
}
