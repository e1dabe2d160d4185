import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle

/// A request's body as its connection read it: whole, or refused for being over the limit.
enum CollectedRequestBody: Sendable {
    case complete(ByteBuffer)
    case tooLarge(limit: Int)
}

/// Where requests go: the gateway's hot endpoints (the `/v1` POSTs) straight to their handler, everything
/// else (admin API, dashboard, health, metrics, the `/v1` GETs) through Hummingbird's router.
struct GatewayRoutes: Sendable {
    /// The hot endpoints take the body as it was read (no copy, no async iteration); the router reads it
    /// from the request.
    typealias Respond = @Sendable (Request, CollectedRequestBody, any Channel) async -> Response

    private var direct: [(path: String, respond: Respond)] = []
    private let router: Respond

    init(router: @escaping @Sendable (Request, any Channel) async -> Response) {
        self.router = { request, _, channel in await router(request, channel) }
    }

    /// Serves `POST path` without the router (the query string, if any, is not part of the match).
    mutating func post(_ path: String, _ respond: @escaping @Sendable (Request, CollectedRequestBody) async -> Response) {
        direct.append((path, { request, body, _ in await respond(request, body) }))
    }

    func responder(for head: HTTPRequest) -> Respond {
        guard head.method == .post, let target = head.path else { return router }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        for route in direct where path == route.path { return route.respond }
        return router
    }
}

/// The gateway's HTTP/1.1 server, on SwiftNIO directly: each connection's pipeline is the connection
/// limit and a ``GatewayConnectionHandler`` that reads each request and answers it from a task
/// started on the connection's own event loop, and writes the answers (idle timeout, keep-alive and
/// quiescing included). No task or async-channel bridge per connection: a new connection's first request is
/// read as soon as the connection is registered.
///
/// On graceful shutdown it stops accepting, closes idle connections, and returns once the connections
/// with requests in flight (streams included) have finished; if cancelled, it closes them all.
struct GatewayHTTPServer: Service {
    let routes: GatewayRoutes
    let executors: EventLoopExecutors
    let connections: ClientConnections
    let host: String
    let port: Int
    let idleTimeout: Duration
    /// The body limit in force when a request starts (the config may be reloaded).
    let maxBodyBytes: @Sendable () -> Int
    let logger: Logger
    let onServerRunning: @Sendable (Int) async -> Void
    let group: MultiThreadedEventLoopGroup = .singleton

    func run() async throws {
        let quiescing = ServerQuiescingHelper(group: group)
        let shared = GatewayConnectionHandler.Shared(
            routes: routes, executors: executors, maxBodyBytes: maxBodyBytes, idleTimeout: TimeAmount(idleTimeout))
        let connections = connections
        let server = try await ServerBootstrap(group: group)
            // A burst of thousands of clients must not overflow the accept queue (the kernel caps it at somaxconn).
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that half-closes is told apart from one that is gone (both end its request).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(connections.makeHandler())
                    try pipeline.addHandler(GatewayConnectionHandler(shared: shared))
                }
            }
            .bind(host: host, port: port).get()
        let boundPort = server.localAddress?.port ?? port
        // The line operators and scripts wait for (Hummingbird printed the same).
        logger.info("Server started and listening on \(host):\(boundPort)")
        await onServerRunning(boundPort)
        let closed = server.eventLoop.makePromise(of: Void.self)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await closed.futureResult.get()
            } onGracefulShutdown: {
                quiescing.initiateShutdown(promise: closed)
            }
        } onCancel: {
            // Past the shutdown's backstop: whatever still runs is ended.
            quiescing.initiateShutdown(promise: closed)
            connections.closeAll()
        }
    }
}
