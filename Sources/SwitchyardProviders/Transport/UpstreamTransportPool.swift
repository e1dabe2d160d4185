import AsyncHTTPClient
import NIOPosix
public import ServiceLifecycle
public import SwitchyardCore
import Synchronization

/// One upstream transport per distinct ``ConnectionPolicy``, created when a snapshot first needs it and kept
/// for the life of the process (a reload that changes a provider's timeouts gets a transport with the new
/// ones; in-flight requests finish on the old one).
///
/// Requests go over ``EventLoopUpstreamTransport``; ``Kind/asyncHTTPClient`` keeps AsyncHTTPClient instead
/// (`SWITCHYARD_UPSTREAM_TRANSPORT=asynchttpclient`), for comparison in the benchmark and as a way back.
///
/// As a ``Service`` it shuts every transport down: when the service group reaches it (after the HTTP server
/// drained), or earlier, when the shutdown grace ends and whatever still runs must stop.
public final class UpstreamTransportPool: UpstreamTransportFactory, Service {
    public enum Kind: Sendable {
        case eventLoop
        case asyncHTTPClient
    }

    private enum Transport {
        case eventLoop(EventLoopUpstreamTransport)
        case client(HTTPClient)
    }

    public let kind: Kind
    private let tls: UpstreamTLS
    private let transports = Mutex<[ConnectionPolicy: Transport]>([:])
    private let isShutDown = Atomic<Bool>(false)

    /// - Parameters:
    ///   - caFile: a PEM file of CA certificates trusted for TLS upstreams besides the system's.
    ///   - http2: whether TLS upstreams may be spoken to in HTTP/2 when they offer it (ALPN).
    public init(kind: Kind = .eventLoop, caFile: String? = nil, http2: Bool = true) {
        self.kind = kind
        self.tls = UpstreamTLS(caFile: caFile, offersHTTP2: http2)
    }

    /// The pool the environment asks for: `SWITCHYARD_UPSTREAM_TRANSPORT` (`asynchttpclient`),
    /// `SWITCHYARD_CA_FILE` and `SWITCHYARD_UPSTREAM_HTTP2` (`off` keeps every upstream on HTTP/1.1).
    public convenience init(environment: [String: String]) {
        let kind: Kind = environment["SWITCHYARD_UPSTREAM_TRANSPORT"]?.lowercased() == "asynchttpclient" ? .asyncHTTPClient : .eventLoop
        let caFile = environment["SWITCHYARD_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let http2 = !["off", "false", "0", "no"].contains(environment["SWITCHYARD_UPSTREAM_HTTP2"]?.lowercased() ?? "")
        self.init(kind: kind, caFile: caFile, http2: http2)
    }

    public var hasCAFile: Bool { tls.hasCAFile }

    /// Checks that the CA file (if any) loads, so a bad one stops startup instead of failing every TLS call.
    public func checkTLS() throws {
        _ = try tls.context()
    }

    public func transport(for policy: ConnectionPolicy) -> any UpstreamTransport {
        let transport = transports.withLock { transports in
            if let existing = transports[policy] { return existing }
            let made: Transport
            switch kind {
            case .eventLoop:
                let transport = EventLoopUpstreamTransport(policy: policy, tls: tls)
                // A transport asked for after shutdown (a reload racing it) refuses requests like the others.
                if isShutDown.load(ordering: .acquiring) { transport.markShutDown() }
                made = .eventLoop(transport)
            case .asyncHTTPClient: made = .client(HTTPClientTransport.makeClient(policy: policy))
            }
            transports[policy] = made
            return made
        }
        switch transport {
        case .eventLoop(let transport): return transport
        case .client(let client): return HTTPClientTransport(client: client)
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Shuts every transport down without waiting (for a gateway that failed to start).
    public func shutdownNow() {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for transport in transports.withLock({ Array($0.values) }) {
            switch transport {
            case .eventLoop(let transport): Task { await transport.shutdown() }
            case .client(let client): try? client.syncShutdown()
            }
        }
    }

    /// Shuts every transport down; upstream requests still running fail at once (as cancelled).
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for transport in transports.withLock({ Array($0.values) }) {
            switch transport {
            case .eventLoop(let transport): await transport.shutdown()
            case .client(let client): try? await client.shutdown()
            }
        }
    }
}
