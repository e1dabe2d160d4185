public import CoreMetrics

/// Upstream attempt counters of one target, created once so the hot path only increments.
///
/// `switchyard_upstream_attempts_total{provider, target, outcome}` where outcome is `ok` or a failure kind.
public struct TargetMetrics: Sendable {
    private let success: Counter
    private let failures: [FailureKind: Counter]
    /// `switchyard_tokens_total{target, kind}` (prompt, completion, cached) and `switchyard_cost_usd_total{target}`.
    private let promptTokens: Counter
    private let completionTokens: Counter
    private let cachedTokens: Counter
    private let cost: FloatingPointCounter
    /// `switchyard_time_to_first_byte_seconds{target}`: until the response head, or a stream's first content.
    private let timeToFirstByte: Timer
    /// `switchyard_upstream_in_flight{target}`: requests using the target now (streams until they end).
    let inFlight: Gauge

    /// - Parameter label: the `target` label value (the target's name, or a shared value for untracked direct targets).
    public init(target: TargetRef, label: String? = nil, factory: any MetricsFactory) {
        let targetLabel = MetricLabel.sanitize(label ?? target.description)
        let providerLabel = MetricLabel.sanitize(target.provider)
        func counter(_ outcome: String) -> Counter {
            Counter(
                label: "switchyard_upstream_attempts_total",
                dimensions: [("provider", providerLabel), ("target", targetLabel), ("outcome", outcome)], factory: factory)
        }
        success = counter("ok")
        failures = Dictionary(uniqueKeysWithValues: FailureKind.allCases.map { ($0, counter($0.rawValue)) })
        func tokens(_ kind: String) -> Counter {
            Counter(label: "switchyard_tokens_total", dimensions: [("target", targetLabel), ("kind", kind)], factory: factory)
        }
        promptTokens = tokens("prompt")
        completionTokens = tokens("completion")
        cachedTokens = tokens("cached")
        cost = FloatingPointCounter(label: "switchyard_cost_usd_total", dimensions: [("target", targetLabel)], factory: factory)
        inFlight = Gauge(label: "switchyard_upstream_in_flight", dimensions: [("target", targetLabel)], factory: factory)
        timeToFirstByte = Timer(
            label: "switchyard_time_to_first_byte_seconds", dimensions: [("target", targetLabel)], preferredDisplayUnit: .seconds, factory: factory)
    }

    /// Counts what an answered request used and cost (cost only when it is known).
    public func count(usage: Usage?, cost amount: Double?, timeToFirstByte duration: Duration?) {
        if let usage {
            promptTokens.increment(by: Int64(max(0, usage.promptTokens)))
            completionTokens.increment(by: Int64(max(0, usage.completionTokens)))
            cachedTokens.increment(by: Int64(max(0, usage.cachedPromptTokens)))
        }
        if let amount, amount.isFinite, amount > 0 { cost.increment(by: amount) }
        if let duration { timeToFirstByte.recordNanoseconds(duration.nanoseconds) }
    }

    func count(_ failure: FailureKind?) {
        if let failure { failures[failure]?.increment() } else { success.increment() }
    }
}

/// Token and cost counters of one configured route, created once with the route table:
/// `switchyard_route_tokens_total{route, kind}` and `switchyard_route_cost_usd_total{route}`.
public final class RouteMetrics: Sendable {
    private let promptTokens: Counter
    private let completionTokens: Counter
    private let cost: FloatingPointCounter

    public init(route: String, factory: any MetricsFactory) {
        let label = MetricLabel.sanitize(route)
        promptTokens = Counter(label: "switchyard_route_tokens_total", dimensions: [("route", label), ("kind", "prompt")], factory: factory)
        completionTokens = Counter(label: "switchyard_route_tokens_total", dimensions: [("route", label), ("kind", "completion")], factory: factory)
        cost = FloatingPointCounter(label: "switchyard_route_cost_usd_total", dimensions: [("route", label)], factory: factory)
    }

    public func count(usage: Usage?, cost amount: Double?) {
        if let usage {
            promptTokens.increment(by: Int64(max(0, usage.promptTokens)))
            completionTokens.increment(by: Int64(max(0, usage.completionTokens)))
        }
        if let amount, amount.isFinite, amount > 0 { cost.increment(by: amount) }
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
        Counter(
            label: "switchyard_circuit_transitions_total", dimensions: [("target", MetricLabel.sanitize(target)), ("state", state)], factory: factory
        ).increment()
    }

    func credential(_ provider: String, event: String) {
        Counter(
            label: "switchyard_credential_events_total", dimensions: [("provider", MetricLabel.sanitize(provider)), ("event", event)], factory: factory
        ).increment()
    }
}

/// Label values from names clients or configs choose: printable ASCII only (control characters such as
/// CR, NUL or ESC become `_`) and at most 128 bytes, so no scraper or terminal sees anything else.
public enum MetricLabel {
    public static let maximumLength = 128

    public static func sanitize(_ value: String) -> String {
        let bytes = value.utf8
        if bytes.count <= maximumLength, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return value }
        var clean = [UInt8]()
        clean.reserveCapacity(min(bytes.count, maximumLength))
        for byte in bytes.prefix(maximumLength) { clean.append(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: "_")) }
        return String(decoding: clean, as: UTF8.self)
    }
}
