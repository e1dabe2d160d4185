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
    let connections: ClientConnections
    let executors: EventLoopExecutors

    init(gateway: Gateway, dialect: Dialect, name: String, connections: ClientConnections, executors: EventLoopExecutors = EventLoopExecutors()) {
        self.gateway = gateway
        self.dialect = dialect
        self.metrics = RequestMetrics(dialect: name, factory: gateway.metrics)
        self.connections = connections
        self.executors = executors
    }

    func handle(_ request: Request) async -> Response {
        await respond(to: request) { key, snapshot, requestID, logger in
            let body = try await readBody(request, limit: snapshot.config.maxBodyBytes)
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
        logger[metadataKey: "route"] = "\(route.name)"
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
            fields[.switchyardCost] = cost.usdDecimal  // absent when the price or the usage is unknown
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
    /// On the fast path the caller's task is the request's own, started on its connection's event loop,
    /// and the connection cancels it if the client disconnects (a stream's body notices at its next write).
    func respond(
        to request: Request, _ body: @escaping @Sendable (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        let started = ContinuousClock.now
        let response = await RequestTrace.traced(request, tracer: gateway.tracer) { await respondUnmeasured(to: request, body) }
        metrics.record(status: Int(response.status.code), since: started)
        return response
    }

    /// The same for a request on Hummingbird's router, whose task belongs to the connection: the work
    /// runs in a task of its own, on the connection's event loop, cancelled when the client disconnects.
    func respond(
        to request: Request, context: GatewayRequestContext,
        _ body: @escaping @Sendable (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        let eventLoop = context.channel.eventLoop
        guard let watch = connections.watch(for: context.channel) else {
            return await executors.run(on: eventLoop) { await respond(to: request, body) }
        }
        return await watch.cancellingOnDisconnect(on: executors.executor(for: eventLoop)) {
            await executors.run(on: eventLoop) { await respond(to: request, body) }
        }
    }

    private func respondUnmeasured(
        to request: Request, _ body: (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        let snapshot = gateway.snapshot
        let requestID = RequestID.accept(request.headers.value(of: .requestID))
        var logger = gateway.logger
        logger[metadataKey: "request.id"] = "\(requestID)"
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

    @inline(never)
    private func stream(
        _ chat: ChatRequest, context dialectContext: Dialect.Context, route: ResolvedRoute, snapshot: GatewaySnapshot, requestID: String, logger: Logger, accounting: RequestAccounting
    ) async throws -> Response {
        let (events, report) = try await Self.openStream(chat, route: route, snapshot: snapshot, logger: logger, accounting: accounting)
        return streamResponse(
            events, report: report, chat: chat, context: dialectContext, route: route, requestID: requestID, logger: logger, accounting: accounting)
    }

    /// Runs the attempts until one stream starts. In a child task: a task keeps the memory of its deepest
    /// call chain until it ends, the attempts' chain is deeper than the writer's, and the request's task
    /// lives as long as the stream.
    @inline(never)
    private static func openStream(
        _ chat: ChatRequest, route: ResolvedRoute, snapshot: GatewaySnapshot, logger: Logger, accounting: RequestAccounting
    ) async throws(ExecutionFailure) -> (ChatEventStream, ExecutionReport) {
        try await accounting.recordingFailure { () async throws(ExecutionFailure) in
            let opened = await withTaskGroup(of: Result<(ChatEventStream, ExecutionReport), ExecutionFailure>.self) { group in
                group.addTask {
                    do throws(ExecutionFailure) {
                        return .success(try await snapshot.executor.openStream(chat, route: route, table: snapshot.table, logger: logger))
                    } catch {
                        return .failure(error)
                    }
                }
                return await group.next()!
            }
            return try opened.get()
        }
    }

    /// The response whose body writes the started stream to the client.
    @inline(never)
    private func streamResponse(
        _ events: ChatEventStream, report: ExecutionReport, chat: ChatRequest, context dialectContext: Dialect.Context, route: ResolvedRoute,
        requestID: String, logger: Logger, accounting: RequestAccounting
    ) -> Response {
        let firstByteAt = ContinuousClock.now
        let dialect = dialect
        let gateway = gateway
        var headers = headers(requestID: requestID, report: report, contentType: "text/event-stream")
        for (name, value) in accounting.reservation?.headers ?? [] { if let field = HTTPField.Name(name) { headers[field] = value } }
        headers[.cacheControl] = "no-cache"
        let target = report.target ?? "-"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // A client that goes away makes the next write fail; leaving the loop releases the upstream
                // body, and AsyncHTTPClient cancels the upstream request.
                guard var events = events.takeReader() else { return try await writer.finish(nil) }
                var tally = StreamTally(text: accounting.requestBody == nil ? nil : "")
                let outcome: Result<Void, any Error>
                do {
                    try await Self.pump(
                        &events, to: &writer, dialect: dialect, chat: chat, context: dialectContext, gateway: gateway, target: target, logger: logger,
                        tally: &tally)
                    outcome = .success(())
                } catch {
                    outcome = .failure(error)
                }
                // Whatever way the stream ended (done, failed, client gone), its entry is written with what was seen.
                accounting.finish(
                    status: 200, report: report, usage: tally.usage, streamedCharacters: tally.characters, firstByteAt: firstByteAt,
                    target: route.targets.first { $0.name == report.target }, responseBody: tally.text)
                try outcome.get()
                try await writer.finish(nil)
            })
    }

    /// Writes one stream to the client: re-encoded in its dialect, or forwarded as the vendor sent it.
    ///
    /// The request's task lives as long as the stream and keeps the memory of its deepest frames, so the
    /// async functions here stay thin: the per-batch work is in synchronous helpers, kept out of line.
    @inline(never)
    private static func pump(
        _ events: inout ChatEventReader, to writer: inout some ResponseBodyWriter, dialect: Dialect, chat: ChatRequest, context: Dialect.Context,
        gateway: Gateway, target: String, logger: Logger, tally: inout StreamTally
    ) async throws {
        var encoder = dialect.makeStreamEncoder(for: chat, context: context)
        if events.passThrough != nil {
            return try await forward(
                &events, to: &writer, encoder: &encoder, dialect: dialect, context: context, gateway: gateway, target: target, logger: logger, tally: &tally)
        }
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        do {
            while let batch = try await events.next() {
                if let bytes = encode(batch, with: &encoder, into: &output, tally: &tally) { try await writer.write(bytes) }
            }
            let (end, answer) = encodeEnd(with: &encoder, into: &output)
            if let answer { await dialect.answered(answer, context: context) }
            try await writer.write(end)
        } catch let failure as UpstreamFailure {
            // After the first byte there is no failover: end the stream with an error event.
            try await writer.write(encodeFailure(failure, with: &encoder, into: &output, gateway: gateway, target: target, logger: logger))
        }
    }

    @inline(never)
    private static func encode(_ batch: [ChatEvent], with encoder: inout Dialect.StreamEncoder, into output: inout [UInt8], tally: inout StreamTally) -> ByteBuffer? {
        output.removeAll(keepingCapacity: true)
        for event in batch {
            tally.count(event)
            encoder.encode(event, into: &output)
        }
        return output.isEmpty ? nil : ByteBuffer(bytes: output)
    }

    @inline(never)
    private static func encodeEnd(with encoder: inout Dialect.StreamEncoder, into output: inout [UInt8]) -> (ByteBuffer, JSONValue?) {
        output.removeAll(keepingCapacity: true)
        encoder.encodeEnd(into: &output)
        return (ByteBuffer(bytes: output), encoder.answer)
    }

    @inline(never)
    private static func encodeFailure(
        _ failure: UpstreamFailure, with encoder: inout Dialect.StreamEncoder, into output: inout [UInt8], gateway: Gateway, target: String, logger: Logger
    ) -> ByteBuffer {
        let error: GatewayError
        if gateway.drain.isGraceOver {
            error = .shuttingDown
            logger.warning("Stream ended by the shutdown grace", metadata: ["target": "\(target)"])
        } else {
            error = .midStream(failure)
            logger.warning("Stream failed after it started", metadata: ["target": "\(target)", "failure.kind": "\(failure.kind.rawValue)"])
        }
        output.removeAll(keepingCapacity: true)
        encoder.encodeError(error, into: &output)
        return ByteBuffer(bytes: output)
    }

    /// A stream in the client's own dialect: the vendor's events are written as they came (each one whole),
    /// while still decoded for usage, finish and errors. A failure the vendor reported in-band is already in
    /// those bytes; any other ends the stream with an error event of the gateway's, after a whole event.
    @inline(never)
    private static func forward(
        _ events: inout ChatEventReader, to writer: inout some ResponseBodyWriter, encoder: inout Dialect.StreamEncoder, dialect: Dialect,
        context: Dialect.Context, gateway: Gateway, target: String, logger: Logger, tally: inout StreamTally
    ) async throws {
        do {
            while let batch = try await events.next() {
                let (bytes, finished) = Self.forwardBytes(of: batch, from: &events, tally: &tally)
                if finished, dialect.keepsAnswers { await keepAnswer(in: bytes, dialect: dialect, context: context) }
                if let bytes { try await writer.write(bytes) }
            }
            if let bytes = Self.forwardBytes(of: [], from: &events, tally: &tally).bytes { try await writer.write(bytes) }
        } catch let failure as UpstreamFailure {
            try await writer.write(forwardFailure(failure, from: &events, with: &encoder, gateway: gateway, target: target, logger: logger))
        }
    }

    /// The vendor's bytes for `batch`, counted, and whether the batch finished the answer.
    @inline(never)
    private static func forwardBytes(of batch: [ChatEvent], from events: inout ChatEventReader, tally: inout StreamTally) -> (bytes: ByteBuffer?, finished: Bool) {
        var finished = false
        for event in batch {
            tally.count(event)
            if case .finish = event { finished = true }
        }
        let bytes = events.takeForwardBytes()
        return (bytes.isEmpty ? nil : ByteBuffer(bytes: bytes), finished)
    }

    /// The answer is kept before the client sees its end (a next turn may follow at once).
    @inline(never)
    private static func keepAnswer(in bytes: ByteBuffer?, dialect: Dialect, context: Dialect.Context) async {
        guard let bytes else { return }
        var decoder = SSEDecoder()
        let forwarded = (try? decoder.decode(bytes)) ?? []
        if let answer = forwarded.lazy.compactMap(dialect.answer(inForwarded:)).first { await dialect.answered(answer, context: context) }
    }

    @inline(never)
    private static func forwardFailure(
        _ failure: UpstreamFailure, from events: inout ChatEventReader, with encoder: inout Dialect.StreamEncoder, gateway: Gateway, target: String,
        logger: Logger
    ) -> ByteBuffer {
        var output = events.takeForwardBytes()
        if !events.failureWasForwarded {
            let error: GatewayError = gateway.drain.isGraceOver ? .shuttingDown : .midStream(failure)
            encoder.encodeError(error, into: &output)
        }
        logger.warning("Stream failed after it started", metadata: ["target": "\(target)", "failure.kind": "\(failure.kind.rawValue)"])
        return ByteBuffer(bytes: output)
    }

    func readBody(_ request: Request, limit: Int) async throws(GatewayError) -> ByteBuffer {
        if let length = request.headers.value(of: .contentLength).flatMap(Int.init), length > limit {
            throw GatewayError.payloadTooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            // A chunked body gives no Content-Length up front; it is cut off at the limit all the same.
            throw GatewayError.payloadTooLarge(limit: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw GatewayError.payloadTooLarge(limit: limit)
        } catch {
            throw GatewayError.invalidRequest("The request body could not be read.")
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

/// What a stream showed, for its log entry: the last usage reported and how much text went out.
struct StreamTally {
    var usage: Usage?
    var characters = 0
    /// The answer's text, for routes that log bodies (cut at the log's limit).
    var text: String?

    mutating func count(_ event: ChatEvent) {
        switch event {
        case .usage(let latest): usage = latest
        case .textDelta(let delta, _), .refusalDelta(let delta, _), .reasoningDelta(let delta, _):
            characters += delta.utf8.count
            if text != nil, characters <= RequestAccounting.bodyLimit { text? += delta }
        case .toolCallArguments(_, let fragment, _): characters += fragment.utf8.count
        default: break
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
    static let apiKey = HTTPField.Name("x-api-key")!
    static let switchyardTarget = HTTPField.Name("x-switchyard-target")!
    static let switchyardAttempts = HTTPField.Name("x-switchyard-attempts")!
    static let switchyardCost = HTTPField.Name("x-switchyard-cost")!
}
