import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import Prometheus
public import SwitchyardCore
import SwitchyardProviders

/// Builds the gateway's HTTP application from a validated config. `switchyard serve` and the tests
/// both use this.
///
/// - Parameters:
///   - gateway: the routing snapshot and executor.
///   - onServerRunning: called with the bound port once the server listens (tests bind port 0).
public func buildApplication(
    gateway: Gateway,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    let openAI = ChatHandler(gateway: gateway, dialect: OpenAIDialect(), name: "openai")
    let anthropic = ChatHandler(gateway: gateway, dialect: AnthropicDialect(), name: "anthropic")
    router.post("/v1/chat/completions") { request, context in await openAI.handle(request, context: context) }
    router.post("/v1/embeddings") { request, context in await openAI.handleEmbeddings(request, context: context) }
    router.get("/v1/models") { request, context in await openAI.handleModels(request, context: context) }
    router.post("/v1/messages") { request, context in await anthropic.handle(request, context: context) }
    router.get("/health/live") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))) }
    router.get("/health/ready") { _, _ in
        // From the first moment of a shutdown, load balancers must stop sending.
        if gateway.drain.isDraining {
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"draining"}"#)))
        }
        let table = gateway.table
        let body = #"{"status":"ready","providers":\#(table.providers.count),"routes":\#(table.routes.count)}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(bytes: gateway.metricsRegistry.emitToBuffer())))
    }
    AdminRoutes(gateway: gateway).register(on: router)
    let listen = gateway.config.listen
    return Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? listen.port) },
        logger: gateway.logger)
}

/// Keeps the client's `x-request-id` (or mints one) on every response, including errors the router
/// itself raises (unknown path, wrong method), which it renders in the OpenAI error shape.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            if response.headers[.requestID] == nil { response.headers[.requestID] = request.headers[.requestID] ?? makeRequestID() }
            return response
        } catch {
            let requestID = request.headers[.requestID] ?? makeRequestID()
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let gatewayError: GatewayError
            switch status.code {
            case 404: gatewayError = .notFound("Unknown path \(request.uri.path).")
            case 405: gatewayError = GatewayError(code: .invalidRequest, status: 405, message: "Method \(request.method) is not allowed on \(request.uri.path).")
            case 413: gatewayError = .payloadTooLarge(limit: 0)
            default: gatewayError = GatewayError(code: .internalError, status: Int(status.code), message: "Request failed.")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[.requestID] = requestID
            return Response(
                status: status, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAIResponseEncoder.encodeError(gatewayError).jsonBytes)))
        }
    }
}
