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

    func handle(_ request: Request) async -> Response {
        await respond(to: request) { key, snapshot, requestID, logger in
            let body = try await readBody(request, limit: snapshot.config.maxBodyBytes)
            var (chat, dialectContext) = try await dialect.decodeChat(
                try parseRequestObject(body.readableBytesView), headers: forwardableHeaders(request), key: key)
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
            if chat.stream {
                return try await stream(
                    chat, context: dialectContext, route: route, snapshot: snapshot, requestID: requestID, logger: logger, accounting: accounting)
            }
            let (response, report) = try await accounting.recordingFailure {
                () async throws(ExecutionFailure) in try await snapshot.executor.complete(chat, route: route, table: snapshot.table, logger: logger)
            }
            RequestTrace.noteAnswer(response, target: report.target)
            let answer: ByteBuffer
            if let passThroughBody = response.passThroughBody {
                answer = passThroughBody
                if dialect.keepsAnswers, let json = try? JSONParser.parse(passThroughBody.readableBytesView) {
                    await dialect.answered(json, context: dialectContext)
                }
            } else {
                let json = dialect.encodeResponse(response, for: chat, context: dialectContext)
                await dialect.answered(json, context: dialectContext)
                answer = ByteBuffer(bytes: json.jsonBytes)
            }
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

    /// The same for a request the router passed on.
    func respond(
        to request: Request, context: GatewayRequestContext,
        _ body: @escaping @Sendable (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        await respond(to: request, body)
    }

    private func respondUnmeasured(
        to request: Request, _ body: (VirtualKeyConfig?, GatewaySnapshot, String, Logger) async throws -> Response
    ) async -> Response {
        let snapshot = gateway.snapshot
        let requestID = RequestID.accept(request.headers[.requestID])
        var logger = gateway.logger
        logger[metadataKey: "request.id"] = "\(requestID)"
        do {
            let key = try gateway.authenticate(authorization: request.headers[.authorization], apiKey: request.headers[.apiKey], in: snapshot.table)
            return try await body(key, snapshot, requestID, logger)
        } catch let failure as ExecutionFailure {
            if failure.report.attempts.last?.failure?.origin == .cancelled {
                logger.debug("Request cancelled", metadata: ["attempts": "\(failure.report.attempts.count)"])
                return errorResponse(gateway.drain.isGraceOver ? .shuttingDown : failure.error, requestID: requestID, report: failure.report)
            }
            RequestTrace.noteFailure(kind: failure.error.failureKind?.rawValue ?? "error")
            logger.info(
                "Request failed upstream",
                metadata: ["status": "\(failure.error.status)", "attempts": "\(failure.report.attempts.count)"])
            return errorResponse(failure.error, requestID: requestID, report: failure.report)
        } catch let error as GatewayError {
            return errorResponse(error, requestID: requestID, report: nil)
        } catch {
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

    private func stream(
        _ chat: ChatRequest, context dialectContext: Dialect.Context, route: ResolvedRoute, snapshot: GatewaySnapshot, requestID: String, logger: Logger, accounting: RequestAccounting
    ) async throws -> Response {
        let (events, report) = try await accounting.recordingFailure {
            () async throws(ExecutionFailure) in try await snapshot.executor.openStream(chat, route: route, table: snapshot.table, logger: logger)
        }
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
                output.removeAll(keepingCapacity: true)
                for event in batch {
                    tally.count(event)
                    encoder.encode(event, into: &output)
                }
                if !output.isEmpty { try await writer.write(ByteBuffer(bytes: output)) }
            }
            output.removeAll(keepingCapacity: true)
            encoder.encodeEnd(into: &output)
            if let answer = encoder.answer { await dialect.answered(answer, context: context) }
            try await writer.write(ByteBuffer(bytes: output))
        } catch let failure as UpstreamFailure {
            // After the first byte there is no failover: end the stream with an error event.
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
            try await writer.write(ByteBuffer(bytes: output))
        }
    }

    /// A stream in the client's own dialect: the vendor's events are written as they came (each one whole),
    /// while still decoded for usage, finish and errors. A failure the vendor reported in-band is already in
    /// those bytes; any other ends the stream with an error event of the gateway's, after a whole event.
    private static func forward(
        _ events: inout ChatEventReader, to writer: inout some ResponseBodyWriter, encoder: inout Dialect.StreamEncoder, dialect: Dialect,
        context: Dialect.Context, gateway: Gateway, target: String, logger: Logger, tally: inout StreamTally
    ) async throws {
        var finalEvents = SSEDecoder()
        do {
            while let batch = try await events.next() {
                var finished = false
                for event in batch {
                    tally.count(event)
                    if case .finish = event { finished = true }
                }
                let bytes = events.takeForwardBytes()
                if finished, dialect.keepsAnswers {
                    // The answer is kept before the client sees its end (a next turn may follow at once).
                    let forwarded = (try? finalEvents.decode(ByteBuffer(bytes: bytes))) ?? []
                    if let answer = forwarded.lazy.compactMap(dialect.answer(inForwarded:)).first { await dialect.answered(answer, context: context) }
                }
                if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
            }
            let bytes = events.takeForwardBytes()
            if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
        } catch let failure as UpstreamFailure {
            var output = events.takeForwardBytes()
            if !events.failureWasForwarded {
                let error: GatewayError = gateway.drain.isGraceOver ? .shuttingDown : .midStream(failure)
                encoder.encodeError(error, into: &output)
            }
            logger.warning("Stream failed after it started", metadata: ["target": "\(target)", "failure.kind": "\(failure.kind.rawValue)"])
            try await writer.write(ByteBuffer(bytes: output))
        }
    }

    func readBody(_ request: Request, limit: Int) async throws(GatewayError) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
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
        var fields = HTTPFields()
        fields[.contentType] = contentType
        fields[.requestID] = requestID
        if let target = report?.target { fields[.switchyardTarget] = target }
        fields[.switchyardAttempts] = String(report?.attempts.count ?? 0)
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
