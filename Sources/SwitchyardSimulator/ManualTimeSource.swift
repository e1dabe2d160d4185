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
}
