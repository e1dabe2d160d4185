/// Where the router reads the time: the real clock in production, a clock tests can move forward.
public protocol TimeSource: Sendable {
    var now: ContinuousClock.Instant { get }
}

/// The process's monotonic clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
}
