import CoreMetrics
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// The request path shared by every dialect (DESIGN §2): authenticate, read, decode, route, execute,
/// encode. Errors leave in the caller's dialect with a status code and the request id.
struct ChatHandler<Dialect: ClientDialect>: Sendable {
    let gateway: Gateway
    let dialect: Dialect
    let metrics: RequestMetrics

    init(gateway: Gateway, dialect: Dialect, name: String) {
        self.gateway = gateway
        self.dialect = dialect
        self.metrics = RequestMetrics(dialect: name, factory: gateway.metrics)
    }

    func handle(_ request: Request, body: CollectedRequestBody) async -> Response {
        await respond(to: request) { key, snapshot, requestID, logger in
            let body = try readBody(body, limit: snapshot.config.maxBodyBytes)
            // Each phase is a function of its own: an async function's frame holds every value of the code
            // inlined into it for the whole call, and a stream's task keeps its deepest frames for its life.
            let prepared = try await prepare(body, request: request, key: key, snapshot: snapshot, requestID: requestID, logger: logger)
            if prepared.chat.stream {
                return try await stream(
                    prepared.chat, context: prepared.context, route: prepared.route, snapshot: snapshot, requestID: requestID,
                    logger: prepared.logger, accounting: prepared.accounting)
            }
            return try await complete(prepared, snapshot: snapshot, requestID: requestID)
        }
    }

    /// A decoded, routed and admitted request, ready to execute.
    struct PreparedChat {
        var chat: ChatRequest
        var context: Dialect.Context
        var route: ResolvedRoute
        var logger: Logger
        var accounting: RequestAccounting
    }

    @inline(never)
    private func prepare(
        _ body: ByteBuffer, request: Request, key: VirtualKeyConfig?, snapshot: GatewaySnapshot, requestID: String, logger: Logger
    ) async throws -> PreparedChat {
        var (chat, dialectContext) = try await dialect.decodeChat(
            try parseRequestObject(body.readableBytesView), headers: forwardableHeaders(request), key: key)
        chat.passThrough?.originalBody = body
        return try routeAndAccount(body, chat: &chat, context: dialectContext, key: key, snapshot: snapshot, requestID: requestID, logger: logger)
    }

    /// Resolves the route and sets up the request's accounting, admitting it against the key's limits and budget.
    @inline(never)
    private func routeAndAccount(
        _ body: ByteBuffer, chat: inout ChatRequest, context: Dialect.Context, key: VirtualKeyConfig?, snapshot: GatewaySnapshot, requestID: String,
        logger: Logger
    ) throws -> PreparedChat {
        chat.messages.resolveToolResultNames()
        var route = try snapshot.table.resolve(model: chat.model, key: key)
        route.prepare(&chat)
        var logger = logger
        logger[metadataKey: "route"] = .string(route.name)
        RequestTrace.noteRequest(model: chat.model, route: route.name, requestID: requestID)
        var accounting = RequestAccounting(
            log: gateway.requestLog, prices: snapshot.table.config.priceBook, requestID: requestID, keyName: key?.name, dialect: metrics.dialect,
            route: route.name, stream: chat.stream, estimatedPromptTokens: route.estimatedTokens.input)
        accounting.routeMetrics = route.metrics
        accounting.pricedRoute = route
        accounting.endUser = chat.user
        if route.logsBodies {
            accounting.requestBody = String(buffer: body)
            accounting.redactor = snapshot.executor.loop.redactor
        }
        if let key, key.limits != nil || key.budget != nil, let state = gateway.keyState(for: key, in: snapshot.table) {
            accounting.keyState = state
            accounting.alert = gateway.alert
            accounting.reservation = try Self.admit(key: key, state: state, route: route, gateway: gateway)
        }
        return PreparedChat(chat: chat, context: context, route: route, logger: logger, accounting: accounting)
    }

    @inline(never)
    private func complete(_ prepared: PreparedChat, snapshot: GatewaySnapshot, requestID: String) async throws -> Response {
        let (chat, route, logger, accounting) = (prepared.chat, prepared.route, prepared.logger, prepared.accounting)
        let (response, report) = try await accounting.recordingFailure {
            () async throws(ExecutionFailure) in try await snapshot.executor.complete(chat, route: route, table: snapshot.table, logger: logger)
        }
        RequestTrace.noteAnswer(response, target: report.target)
        let answer: ByteBuffer
        if let passThroughBody = response.passThroughBody {
            answer = passThroughBody
            if dialect.keepsAnswers, let json = try? JSONParser.parse(passThroughBody.readableBytesView) {
                await dialect.answered(json, context: prepared.context)
            }
        } else {
            let json = dialect.encodeResponse(response, for: chat, context: prepared.context)
            await dialect.answered(json, context: prepared.context)
            answer = ByteBuffer(bytes: json.jsonBytes)
        }
        return answered(answer, response: response, report: report, route: route, accounting: accounting, requestID: requestID)
    }

    @inline(never)
    private func answered(
        _ answer: ByteBuffer, response: ChatResponse, report: ExecutionReport, route: ResolvedRoute, accounting: RequestAccounting, requestID: String
    ) -> Response {
        accounting.finish(
            status: 200, report: report, usage: response.usage, firstByteAt: .now, target: route.targets.first { $0.name == report.target },
            responseBody: accounting.requestBody == nil ? nil : String(buffer: answer))
        var fields = headers(requestID: requestID, report: report, contentType: "application/json")
        for (name, value) in accounting.reservation?.headers ?? [] { if let field = HTTPField.Name(name) { fields[field] = value } }
        if let cost = accounting.cost(of: response.usage, at: report.target) {
            fields.append(HTTPField(name: .switchyardCost, value: cost.usdDecimal))  // absent when the price or the usage is unknown
        }
        // The vendor speaks the client's dialect: its answer goes back as sent, nothing lost in translation.
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: answer))
    }

    /// Checks the key's limits and budget before anything is sent, reserving the request's estimated cost
    /// at the most expensive price the route may reach (unpriced targets at the dearest known one).
    static func admit(key: VirtualKeyConfig, state: KeyState, route: ResolvedRoute, gateway: Gateway) throws(GatewayError) -> KeyState.Reservation {
        let (input, output) = route.estimatedTokens
        let estimatedCost = route.prices.compactMap { $0?.estimate(inputTokens: input, outputTokens: output) }.max() ?? 0
        switch state.admit(limits: key.limits, budget: key.budget, estimatedTokens: input + output, estimatedCost: estimatedCost) {
        case .success(let reservation):
            return reservation
        case .failure(.rateLimited(let retryAfter, let headers, let what)):
            gateway.rateLimitRejections.increment()
            throw .keyRateLimited(key: key.name, what: what, retryAfter: retryAfter, headers: headers)
        case .failure(.overBudget(let spent, let limit, let period)):
            gateway.budgetRejections.increment()
            throw .overBudget(key: key.name, spent: spent, limit: limit, period: period.rawValue)
        }
    }

    /// Runs `body` for an authenticated request and renders whatever it throws in the caller's dialect.
    /// The caller's task is the request's own, started on its connection's event loop by the server, which
    /// cancels it if the client disconnects (a stream's body notices at its next write).
    func respond(
        to request: Request, _ body: @escaping @Sendable (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        let started = ContinuousClock.now
        let response = await RequestTrace.traced(request, tracer: gateway.tracer) { await respondUnmeasured(to: request, body) }
        metrics.record(status: Int(response.status.code), since: started)
        return response
    }

    private func respondUnmeasured(
        to request: Request, _ body: (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        let snapshot = gateway.snapshot
        let requestID = RequestID.accept(request.headers.value(of: .requestID))
        var logger = gateway.logger
        logger[metadataKey: "request.id"] = .string(requestID)
        do {
            let key = try gateway.authenticate(authorization: request.headers.value(of: .authorization), apiKey: request.headers.value(of: .apiKey), in: snapshot.table)
            return try await body(key, snapshot, requestID, logger)
        } catch {
            return render(error, requestID: requestID, logger: logger)
        }
    }

    /// A failure in the caller's dialect (kept out of the async frame above, which every request carries).
    @inline(never)
    private func render(_ error: any Error, requestID: String, logger: Logger) -> Response {
        switch error {
        case let failure as ExecutionFailure:
            if failure.report.attempts.last?.failure?.origin == .cancelled {
                logger.debug("Request cancelled", metadata: ["attempts": "\(failure.report.attempts.count)"])
                return errorResponse(gateway.drain.isGraceOver ? .shuttingDown : failure.error, requestID: requestID, report: failure.report)
            }
            RequestTrace.noteFailure(kind: failure.error.failureKind?.rawValue ?? "error")
            logger.info(
                "Request failed upstream",
                metadata: ["status": "\(failure.error.status)", "attempts": "\(failure.report.attempts.count)"])
            return errorResponse(failure.error, requestID: requestID, report: failure.report)
        case let error as GatewayError:
            return errorResponse(error, requestID: requestID, report: nil)
        default:
            logger.error("Unexpected error", metadata: ["error.type": "\(String(describing: type(of: error)))"])
            return errorResponse(
                GatewayError(code: .internalError, status: 500, message: "Internal error."), requestID: requestID, report: nil)
        }
    }

    func jsonResponse(_ json: JSONValue, requestID: String, report: ExecutionReport?) -> Response {
        Response(
            status: .ok, headers: headers(requestID: requestID, report: report, contentType: "application/json"),
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.jsonBytes)))
    }

    /// The request's body as its connection read it, taken as it is; over `limit` (the limit when it
    /// was read, or the one in force now, after a reload) it is a 413 naming the limit.
    func readBody(_ body: CollectedRequestBody, limit: Int) throws(GatewayError) -> ByteBuffer {
        switch body {
        case .complete(let buffer):
            guard buffer.readableBytes <= limit else { throw GatewayError.payloadTooLarge(limit: limit) }
            return buffer
        case .tooLarge(let readLimit):
            throw GatewayError.payloadTooLarge(limit: min(readLimit, limit))
        }
    }

    /// Client headers a same-dialect provider may forward (never the client's own credentials).
    func forwardableHeaders(_ request: Request) -> [(name: String, value: String)] {
        request.headers.compactMap { field in
            let name = field.name.canonicalName
            return name == "anthropic-beta" ? (name, field.value) : nil
        }
    }

    func headers(requestID: String, report: ExecutionReport?, contentType: String) -> HTTPFields {
        // Appended, not set: the fields are new and distinct, and setting one scans for earlier ones.
        var fields = HTTPFields()
        // Room for what the answer adds later (cost, limits, date, length): the fields grow once.
        fields.reserveCapacity(10)
        fields.append(HTTPField(name: .contentType, value: contentType))
        fields.append(HTTPField(name: .requestID, value: requestID))
        if let target = report?.target { fields.append(HTTPField(name: .switchyardTarget, value: target)) }
        fields.append(HTTPField(name: .switchyardAttempts, value: String(report?.attempts.count ?? 0)))
        return fields
    }

    func errorResponse(_ error: GatewayError, requestID: String, report: ExecutionReport?) -> Response {
        var fields = headers(requestID: requestID, report: report, contentType: "application/json")
        if let vendor = error.vendorAnswer {
            // The client's own vendor family refused the request: its error, as its SDK expects it.
            return Response(status: HTTPResponse.Status(code: vendor.status), headers: fields, body: ResponseBody(byteBuffer: vendor.body))
        }
        if let retryAfter = error.retryAfter { fields[.retryAfter] = String(max(1, Int(retryAfter.seconds.rounded(.up)))) }
        for (name, value) in error.headers { if let field = HTTPField.Name(name) { fields[field] = value } }
        return Response(
            status: HTTPResponse.Status(code: dialect.status(for: error)), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: dialect.encodeError(error).jsonBytes)))
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
    static let apiKey = HTTPField.Name("x-api-key")!
    static let switchyardTarget = HTTPField.Name("x-switchyard-target")!
    static let switchyardAttempts = HTTPField.Name("x-switchyard-attempts")!
    static let switchyardCost = HTTPField.Name("x-switchyard-cost")!
}
