import Synchronization

/// Where the gateway is in a graceful shutdown: serving, draining (readiness says 503, in-flight work
/// finishes) or past the grace (what still runs is ended).
public final class DrainState: Sendable {
    private let draining = Atomic<Bool>(false)
    private let graceOver = Atomic<Bool>(false)
    private let started: AsyncStream<Void>
    private let startedSink: AsyncStream<Void>.Continuation

    public init() {
        (started, startedSink) = AsyncStream.makeStream(of: Void.self)
    }

    /// Whether a shutdown has begun: load balancers must stop sending.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Whether the shutdown grace ran out: streams still running are being ended.
    public var isGraceOver: Bool { graceOver.load(ordering: .acquiring) }

    /// Starts the drain: the shutdown sequence calls it first thing.
    public func begin() {
        guard !draining.exchange(true, ordering: .acquiringAndReleasing) else { return }
        startedSink.finish()
    }

    func endGrace() {
        graceOver.store(true, ordering: .releasing)
    }

    /// Returns once the drain has begun, or when the calling task is cancelled. One waiter only (the
    /// upstream shutdown service).
    func waitUntilDraining() async {
        for await _ in started {}
    }
}
