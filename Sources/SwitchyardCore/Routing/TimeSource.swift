/// Where the router reads the time: the real clock in production, a clock tests can move forward.
public protocol TimeSource: Sendable {
    var now: ContinuousClock.Instant { get }

    /// Waits `duration` on this clock (backoff between passes over a route's targets).
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(for duration: Duration) async throws
}

/// The process's monotonic clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public var now: ContinuousClock.Instant { .now }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
