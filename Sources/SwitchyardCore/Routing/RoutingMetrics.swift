public import CoreMetrics

/// Upstream attempt counters of one target, created once so the hot path only increments.
///
/// `switchyard_upstream_attempts_total{provider, target, outcome}` where outcome is `ok` or a failure kind.
public struct TargetMetrics: Sendable {
    private let success: Counter
    private let failures: [FailureKind: Counter]

    public init(target: TargetRef, factory: any MetricsFactory) {
        func counter(_ outcome: String) -> Counter {
            Counter(
                label: "switchyard_upstream_attempts_total",
                dimensions: [("provider", target.provider), ("target", target.description), ("outcome", outcome)], factory: factory)
        }
        success = counter("ok")
        failures = Dictionary(uniqueKeysWithValues: FailureKind.allCases.map { ($0, counter($0.rawValue)) })
    }

    func count(_ failure: FailureKind?) {
        if let failure { failures[failure]?.increment() } else { success.increment() }
    }
}

/// Counts rare routing events (breaker transitions, credential state changes); counters are looked up
/// per event, which is fine at their rate.
public struct RoutingEventMetrics: Sendable {
    private let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func circuit(_ target: String, state: String) {
        Counter(label: "switchyard_circuit_transitions_total", dimensions: [("target", target), ("state", state)], factory: factory).increment()
    }

    func credential(_ provider: String, event: String) {
        Counter(label: "switchyard_credential_events_total", dimensions: [("provider", provider), ("event", event)], factory: factory).increment()
    }
}
