public import SwitchyardCore
import Synchronization

/// A clock tests move forward by hand, so cooldowns and token expiry are tested without waiting.
public final class ManualTimeSource: TimeSource {
    private let start = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)

    public init() {}

    public var now: ContinuousClock.Instant { start + offset.withLock { $0 } }

    public func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }

    /// Time spent in ``sleep(for:)`` so far.
    public var slept: Duration { sleptTotal.withLock { $0 } }
    private let sleptTotal = Mutex<Duration>(.zero)

    /// Sleeping on a manual clock lets the time pass at once: backoff is exercised without waiting.
    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        sleptTotal.withLock { $0 += duration }
        advance(by: duration)
        await Task.yield()
    }
}
