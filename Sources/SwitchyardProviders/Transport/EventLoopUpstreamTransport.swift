import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import SwitchyardCore
import Synchronization

/// What every event loop's pool of one transport shares: the policy's limits, the TLS context, shutdown.
final class EventLoopTransportShared: Sendable {
    let limits: UpstreamHostLimits
    /// How long a connection may sit idle before it is closed rather than trusted with a request.
    let idleTimeout: TimeAmount
    private let tls: UpstreamTLS
    private let shutDown = Atomic<Bool>(false)

    init(policy: ConnectionPolicy, tls: UpstreamTLS) {
        limits = UpstreamHostLimits(maximum: policy.maxConnections)
        idleTimeout = .seconds(55)
        self.tls = tls
    }

    var isShutDown: Bool { shutDown.load(ordering: .relaxed) }

    func markShutDown() { shutDown.store(true, ordering: .relaxed) }

    func tlsContext() throws -> NIOSSLContext { try tls.context() }

    var offersHTTP2: Bool { tls.offersHTTP2 }
}

/// The upstream transport whose connections live on event loops: a request is sent from the loop it runs
/// on (the client connection's loop when request handling prefers it), over a kept-alive HTTP/1.1
/// connection of that loop's pool, plain or TLS (certificate and hostname verified, SNI), and its answer
/// is read without leaving the loop.
public final class EventLoopUpstreamTransport: UpstreamTransport {
    private let policy: ConnectionPolicy
    private let group: MultiThreadedEventLoopGroup
    private let shared: EventLoopTransportShared
    private let pools: [ObjectIdentifier: EventLoopUpstreamPool]
    /// Where callers off the group's loops send (token endpoints, webhooks, tests): one loop, so they share
    /// kept-alive connections; request handling runs on its client connection's loop and never lands here.
    private let homePool: EventLoopUpstreamPool

    init(policy: ConnectionPolicy, tls: UpstreamTLS, group: MultiThreadedEventLoopGroup = .singleton) {
        self.policy = policy
        self.group = group
        let shared = EventLoopTransportShared(policy: policy, tls: tls)
        self.shared = shared
        var pools: [ObjectIdentifier: EventLoopUpstreamPool] = [:]
        var first: EventLoopUpstreamPool?
        for eventLoop in group.makeIterator() {
            let pool = EventLoopUpstreamPool(eventLoop: eventLoop, shared: shared)
            pools[ObjectIdentifier(eventLoop)] = pool
            if first == nil { first = pool }
        }
        self.pools = pools
        self.homePool = first!
    }

    public func execute(_ request: UpstreamRequest, headDeadline: ContinuousClock.Instant) async throws(UpstreamFailure) -> UpstreamResponse {
        // On one of the group's loops (the usual case: handlers prefer their connection's loop) that loop's pool
        // serves the request and its URL cache may be read; from anywhere else the first loop's pool does.
        let currentPool = MultiThreadedEventLoopGroup.currentEventLoop.flatMap { pools[ObjectIdentifier($0)] }
        let url = currentPool?.parsedURL(request.url) ?? UpstreamURL(request.url)
        guard url.isValid else { throw UpstreamFailure(kind: .unavailable, message: "the provider's URL is not a valid http(s) URL") }
        let requestHead = Self.head(of: request, url: url)
        // Refused before a connection is taken: the request, not the provider, is at fault, so the target is
        // skipped (the next may be configured differently) and nothing counts against it.
        guard UpstreamRequestEncoder.isSendable(requestHead) else {
            throw .unsupported("the request has a header or target that cannot be sent (a control character or an invalid name)")
        }
        let pool = currentPool ?? homePool
        let now = ContinuousClock.now
        let nioNow = NIODeadline.now()
        let exchange = UpstreamExchange(
            eventLoop: pool.eventLoop, url: url, requestHead: requestHead, requestBody: request.body,
            headDeadline: nioNow + .nanoseconds(max(0, (headDeadline - now).nanoseconds)),
            connectDeadline: nioNow + .nanoseconds(policy.connectTimeout.nanoseconds), idleReadTimeout: .nanoseconds(policy.idleReadTimeout.nanoseconds))
        let head = try await withTaskCancellationHandler {
            await withUnsafeContinuation { (waiter: UpstreamExchange.HeadWaiter) in
                exchange.perform {
                    pool.send(exchange)
                    exchange.awaitHead(waiter)
                }
            }
        } onCancel: {
            exchange.perform { exchange.abandon(because: .cancelled) }
        }.get()
        let source = UpstreamBodySource(exchange: exchange)
        return UpstreamResponse(head: head, body: UpstreamBody { UpstreamBody.AsyncIterator { try await source.next() } })
    }

    /// Refuses every later request (as cancelled), without connections to close yet.
    func markShutDown() {
        shared.markShutDown()
    }

    /// Closes every connection; exchanges in flight fail as cancelled, later ones are refused.
    func shutdown() async {
        shared.markShutDown()
        for waiter in shared.limits.removeAllWaiters() { waiter.exchange.perform { waiter.exchange.fail(.cancelled) } }
        for pool in pools.values {
            try? await pool.eventLoop.submit { pool.closeAll() }.get()
        }
    }

    static func head(of request: UpstreamRequest, url: UpstreamURL) -> HTTPRequestHead {
        // An array made whole, then wrapped: `HTTPHeaders.add` scans each name and checks it for Connection.
        var fields: [(String, String)] = []
        fields.reserveCapacity(request.headers.fields.count + 2)
        var hasHost = false
        var hasLength = false
        for (name, _) in request.headers {
            if !hasHost, name.caseInsensitiveEquals("host") { hasHost = true }
            if !hasLength, name.caseInsensitiveEquals("content-length") { hasLength = true }
        }
        if !hasHost { fields.append(("host", url.hostHeader)) }
        fields.append(contentsOf: request.headers.fields.lazy.map { ($0.name, $0.value) })
        if !hasLength, let body = request.body { fields.append(("content-length", String(body.readableBytes))) }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: url.requestTarget, headers: HTTPHeaders(fields))
    }
}

/// The TLS client context every upstream connection shares: the system's trust roots plus, optionally,
/// the certificates of one CA file (a private CA in front of a self-hosted model server). Made on first use,
/// since loading the system roots takes milliseconds.
final class UpstreamTLS: Sendable {
    private let caFile: String?
    /// Whether ALPN offers HTTP/2 (first) besides HTTP/1.1.
    let offersHTTP2: Bool
    private let cached = Mutex<NIOSSLContext?>(nil)

    init(caFile: String?, offersHTTP2: Bool = true) {
        self.caFile = caFile
        self.offersHTTP2 = offersHTTP2
    }

    var hasCAFile: Bool { caFile != nil }

    func context() throws -> NIOSSLContext {
        try cached.withLock { cached in
            if let cached { return cached }
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
            configuration.applicationProtocols = offersHTTP2 ? ["h2", "http/1.1"] : ["http/1.1"]
            let context = try NIOSSLContext(configuration: configuration)
            cached = context
            return context
        }
    }
}
