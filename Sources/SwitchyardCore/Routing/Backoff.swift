/// Exponential backoff with full jitter: a uniformly random delay in [0, min(max, base·2^retry)].
public struct Backoff: Sendable {
    public var base: Duration
    public var maximum: Duration

    public init(base: Duration, maximum: Duration) {
        self.base = base
        self.maximum = maximum
    }

    /// The delay before retry number `retry` (0-based) of the same target.
    public func delay(retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = min(maximum, base * (1 << min(retry, 20)))
        let nanoseconds = ceiling.nanoseconds
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }
}

extension Duration {
    /// The whole duration in nanoseconds, saturating.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product + attoseconds / 1_000_000_000
    }

    /// The duration in (fractional) seconds.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
