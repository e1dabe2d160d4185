import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The gateway's hot endpoints (the `/v1` POSTs), answered from the connection's own pipeline: no
/// router, middleware chain, async channel bridging or per-request logger, and the request's task starts
/// on the connection's event loop. Everything else stays on Hummingbird's router, on the same listener.
struct FastPathRoutes: Sendable {
    typealias Respond = @Sendable (Request) async -> Response

    private var routes: [(path: String, respond: Respond)] = []

    /// Serves `POST path` (the query string, if any, is not part of the match).
    mutating func post(_ path: String, _ respond: @escaping Respond) {
        routes.append((path, respond))
    }

    /// The responder for a request head, if the fast path serves it.
    func responder(for head: HTTPRequest) -> Respond? {
        guard head.method == .post, let target = head.path else { return nil }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        for route in routes where path == route.path { return route.respond }
        return nil
    }
}

/// What every connection's ``FastPathHandler`` shares.
struct FastPath: Sendable {
    let routes: FastPathRoutes
    let executors: EventLoopExecutors
    /// The body limit in force when a request starts (the config may be reloaded).
    let maxBodyBytes: @Sendable () -> Int
}

/// Hummingbird's HTTP/1.1 child channel with the fast path added behind its connection-state handler,
/// so idle timeouts, keep-alive and graceful-shutdown quiescing count fast-path requests as well.
struct GatewayHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let fastPath: FastPath

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let fastPath = fastPath
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let connectionState = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(FastPathHandler(fastPath: fastPath), position: .after(connectionState))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}
