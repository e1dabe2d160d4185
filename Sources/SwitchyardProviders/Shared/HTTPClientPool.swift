public import AsyncHTTPClient
import NIOPosix
public import ServiceLifecycle
public import SwitchyardCore
import Synchronization

/// One AsyncHTTPClient per distinct ``ConnectionPolicy``, created when a snapshot first needs it and kept
/// for the life of the process (a reload that changes a provider's timeouts gets a client with the new
/// ones; in-flight requests finish on the old one).
///
/// As a ``Service`` it shuts every client down: when the service group reaches it (after the HTTP server
/// drained), or earlier, when ``abortInFlight()`` ends whatever is still running at the end of the
/// shutdown grace.
public final class HTTPClientPool: UpstreamTransportFactory, Service {
    private let clients = Mutex<[ConnectionPolicy: HTTPClient]>([:])
    private let isShutDown = Atomic<Bool>(false)

    public init() {}

    public func transport(for policy: ConnectionPolicy) -> any UpstreamTransport {
        HTTPClientTransport(client: client(for: policy))
    }

    /// The client for `policy`, created on first use.
    public func client(for policy: ConnectionPolicy) -> HTTPClient {
        clients.withLock { clients in
            if let existing = clients[policy] { return existing }
            let client = HTTPClientTransport.makeClient(policy: policy)
            clients[policy] = client
            return client
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Shuts every client down without waiting (for a gateway that failed to start).
    public func shutdownNow() {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for client in clients.withLock({ Array($0.values) }) { try? client.syncShutdown() }
    }

    /// Shuts every client down; upstream requests still running fail at once (as cancelled).
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let all = clients.withLock { Array($0.values) }
        for client in all { try? await client.shutdown() }
    }
}
