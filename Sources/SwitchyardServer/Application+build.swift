import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
public import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders

/// Builds the gateway's HTTP application from a validated config. `switchyard serve` and the tests
/// both use this.
///
/// Client connections follow the config's `server` section (read at start): idle connections and
/// unfinished request heads are closed after `idle_timeout`, connections beyond `max_connections` are
/// refused, and a request whose client disconnects is cancelled, upstream call included.
///
/// - Parameters:
///   - gateway: the routing snapshot and executor.
///   - onServerRunning: called with the bound port once the server listens (tests bind port 0).
public func buildApplication(
    gateway: Gateway,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some Service {
    let router = Router(context: GatewayRequestContext.self)
    router.add(middleware: HTTPErrorMiddleware(gateway: gateway))
    let server = gateway.config.server
    let openAI = ChatHandler(gateway: gateway, dialect: OpenAIDialect(), name: "openai")
    let anthropic = ChatHandler(gateway: gateway, dialect: AnthropicDialect(), name: "anthropic")
    let responses = ChatHandler(gateway: gateway, dialect: ResponsesDialect(store: gateway.responses, logger: gateway.logger), name: "responses")
    router.get("/v1/models") { request, _ in await openAI.handleModels(request) }
    router.get("/v1/responses/:id") { request, context in await responses.handleRetrieve(request, context: context) }
    router.get("/v1/responses/:id/input_items") { request, context in await responses.handleInputItems(request, context: context) }
    router.delete("/v1/responses/:id") { request, context in await responses.handleDelete(request, context: context) }
    router.get("/health/live") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))) }
    router.get("/health/ready") { _, _ in
        // From the first moment of a shutdown, load balancers must stop sending.
        if gateway.drain.isDraining {
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"draining"}"#)))
        }
        let table = gateway.table
        // Requests are served without the log, but an operator must know it is not being kept.
        let storage: String
        if let log = gateway.requestLog { storage = await log.store.isReachable() ? "ok" : "unreachable" } else { storage = "none" }
        let body = #"{"status":"ready","providers":\#(table.providers.count),"routes":\#(table.routes.count),"storage":"\#(storage)"}"#
        let status: HTTPResponse.Status = storage == "unreachable" ? .serviceUnavailable : .ok
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(bytes: gateway.metricsRegistry.emitToBuffer())))
    }
    AdminRoutes(gateway: gateway).register(on: router)
    AccountingRoutes(gateway: gateway).register(on: router)
    KeysRoutes(gateway: gateway).register(on: router)
    DashboardRoutes(gateway: gateway).register(on: router)
    // Any other method on an API path is a 405 naming the allowed one, not a 404.
    for (path, allowed) in [
        ("/v1/chat/completions", HTTPRequest.Method.post), ("/v1/embeddings", .post), ("/v1/messages", .post), ("/v1/models", .get), ("/v1/responses", .post),
        ("/v1/messages/count_tokens", .post),
    ] {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] where method != allowed {
            router.on(RouterPath(path), method: method) { request, _ -> Response in
                let error = GatewayError(code: .invalidRequest, status: 405, message: "Method \(request.method) is not allowed on \(path); use \(allowed).")
                var response = HTTPErrorMiddleware<GatewayRequestContext>.render(error, for: request)
                response.headers[.allow] = allowed.rawValue
                return response
            }
        }
    }
    // The router's responder is built once every route is on it.
    let routerResponder = router.buildResponder()
    let logger = gateway.logger
    var routes = GatewayRoutes { request, channel in
        let context = GatewayRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        do {
            return try await routerResponder.respond(to: request, context: context)
        } catch {
            // The error middleware renders everything a route throws; this is a backstop.
            return HTTPErrorMiddleware<GatewayRequestContext>.render(GatewayError(code: .internalError, status: 500, message: "Request failed."), for: request)
        }
    }
    routes.post("/v1/chat/completions") { request, body in await openAI.handle(request, body: body) }
    routes.post("/v1/embeddings") { request, body in await openAI.handleEmbeddings(request, body: body) }
    routes.post("/v1/messages") { request, body in await anthropic.handle(request, body: body) }
    routes.post("/v1/messages/count_tokens") { request, body in await anthropic.handleCountTokens(request, body: body) }
    routes.post("/v1/responses") { request, body in await responses.handle(request, body: body) }
    let listen = gateway.config.listen
    return GatewayHTTPServer(
        routes: routes, executors: EventLoopExecutors(), connections: ClientConnections(maximum: server.maxConnections, logger: gateway.logger),
        host: listen.host, port: listen.port, idleTimeout: server.idleTimeout, maxBodyBytes: { gateway.snapshot.config.maxBodyBytes },
        logger: gateway.logger, onServerRunning: onServerRunning)
}

/// Keeps the client's `x-request-id` (when reasonable, else a fresh one) on every response, and renders
/// errors raised outside the handlers (unknown path, wrong method, unreadable body) in the dialect of the
/// path: Anthropic's shape under `/v1/messages`, OpenAI's elsewhere.
struct HTTPErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let gateway: Gateway

    func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            if response.headers[.requestID] == nil { response.headers[.requestID] = RequestID.accept(request.headers[.requestID]) }
            return response
        } catch {
            let path = request.uri.path
            let gatewayError: GatewayError
            switch error {
            case let error as GatewayError: gatewayError = error
            case let error as any HTTPResponseError:
                switch error.status.code {
                case 404: gatewayError = .notFound("Unknown path \(path.prefix(200)).")
                case 405: gatewayError = GatewayError(code: .invalidRequest, status: 405, message: "Method \(request.method) is not allowed on \(path.prefix(200)).")
                case 413: gatewayError = .payloadTooLarge(limit: gateway.config.maxBodyBytes)
                case 400..<500: gatewayError = GatewayError(code: .invalidRequest, status: Int(error.status.code), message: "The request could not be read.")
                default: gatewayError = GatewayError(code: .internalError, status: 500, message: "Request failed.")
                }
            default: gatewayError = GatewayError(code: .internalError, status: 500, message: "Request failed.")
            }
            return Self.render(gatewayError, for: request)
        }
    }

    /// `error` in the dialect of the request's path, with the request id.
    static func render(_ error: GatewayError, for request: Request) -> Response {
        let body = request.uri.path.hasPrefix("/v1/messages") ? AnthropicResponseEncoder.encodeError(error) : OpenAIResponseEncoder.encodeError(error)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.requestID] = RequestID.accept(request.headers[.requestID])
        return Response(status: HTTPResponse.Status(code: error.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}
