public import Logging
import NIOCore

/// Runs chat and embeddings requests through the attempt loop: encodes per target, authenticates,
/// sends, classifies, decodes. Stateless; safe to share.
public struct ChatExecutor: Sendable {
    public let loop: AttemptLoop
    public let faults: FaultInjector
    /// Largest upstream response body accepted for a non-streamed answer.
    public var maximumResponseBytes = 64 << 20
    /// How much of an error body is read for classification.
    static let errorBodyLimit = 64 << 10

    public init(loop: AttemptLoop, faults: FaultInjector = FaultInjector()) {
        self.loop = loop
        self.faults = faults
    }

    /// The earliest instant a request started now must be over.
    public var requestDeadline: ContinuousClock.Instant { loop.timeSource.now + loop.routing.deadline }

    /// A complete (non-streamed) chat answer.
    public func complete(
        _ request: ChatRequest, route: ResolvedRoute, table: RouteTable, logger: Logger
    ) async throws(ExecutionFailure) -> (ChatResponse, ExecutionReport) {
        let (answer, report) = try await runChat(request, route: route, table: table, logger: logger) { response, context throws(UpstreamFailure) in
            let body = try await collect(response.body, limit: maximumResponseBytes, deadline: context.deadline)
            var answer = try context.target.provider.adapter.decodeChatResponse(body, head: response.head, model: context.target.ref.model)
            if answersInClientDialect(request, context: context) { answer.passThroughBody = body }
            return Boxed(answer)
        }
        return (answer.value, report)
    }

    /// A chat stream whose first event has arrived; failover happens only until then.
    public func openStream(
        _ request: ChatRequest, route: ResolvedRoute, table: RouteTable, logger: Logger
    ) async throws(ExecutionFailure) -> (ChatEventStream, ExecutionReport) {
        try await runChat(request, route: route, table: table, logger: logger) { response, context throws(UpstreamFailure) in
            // Same dialect as the vendor's: its events go back as sent, minus a usage chunk the client did not ask for.
            let passThrough =
                answersInClientDialect(request, context: context)
                ? ChatEventReader.PassThrough(dropsUsageOnlyEvents: request.passThrough?.dialect == .openai && !request.includeUsage) : nil
            var reader = ChatEventReader(
                iterator: response.body.makeAsyncIterator(), decoder: context.target.provider.adapter.makeStreamDecoder(model: context.target.ref.model),
                deadline: context.deadline, timeSource: loop.timeSource, redactor: loop.redactor, passThrough: passThrough)
            try await reader.awaitFirstContent(by: context.answerDeadline)
            return ChatEventStream(reader)
        }
    }

    /// Embeddings, from targets whose provider computes them.
    public func embeddings(
        _ request: EmbeddingsRequest, route: ResolvedRoute, table: RouteTable, logger: Logger
    ) async throws(ExecutionFailure) -> (EmbeddingsResponse, ExecutionReport) {
        try await loop.run(route: route, deadline: requestDeadline, logger: logger) { context throws(UpstreamFailure) in
            guard let adapter = context.target.provider.adapter as? any EmbeddingsProvider else {
                throw .unsupported("The provider of \(context.target.name) does not offer embeddings.")
            }
            var upstream: UpstreamRequest
            do {
                upstream = try adapter.makeEmbeddingsRequest(request, model: context.target.ref.model)
            } catch {
                throw .unsupported((error as? GatewayError)?.message ?? "invalid embeddings request")
            }
            let response = try await execute(&upstream, context: context)
            let body = try await collect(response.body, limit: maximumResponseBytes, deadline: context.deadline)
            return try adapter.decodeEmbeddingsResponse(body, head: response.head)
        }
    }

    /// The input tokens of `request`, counted by the first of the route's targets whose vendor counts them
    /// (targets without a count endpoint are skipped, as for a capability they lack).
    public func countTokens(
        _ request: ChatRequest, route: ResolvedRoute, table: RouteTable, logger: Logger
    ) async throws(ExecutionFailure) -> (Int, ExecutionReport) {
        try await loop.run(route: route, deadline: requestDeadline, logger: logger) { context throws(UpstreamFailure) in
            let model = context.target.ref.model
            guard let adapter = context.target.provider.adapter as? any TokenCountingProvider else {
                throw .unsupported("The provider of \(context.target.name) does not count tokens.")
            }
            let made: UpstreamRequest?
            do {
                made = try adapter.makeCountTokensRequest(request, model: model)
            } catch {
                throw .unsupported((error as? GatewayError)?.message ?? "invalid count request")
            }
            guard var upstream = made else { throw .unsupported("\(context.target.name) does not count tokens.") }
            let response = try await execute(&upstream, context: context)
            let body = try await collect(response.body, limit: Self.errorBodyLimit, deadline: context.deadline)
            return try adapter.decodeTokenCount(body, model: model)
        }
    }

    // MARK: helpers

    /// Whether the target's answers are already in the client's dialect.
    private func answersInClientDialect(_ request: ChatRequest, context: AttemptContext) -> Bool {
        guard let dialect = request.passThrough?.dialect else { return false }
        return context.target.provider.adapter.answersNatively(dialect, model: context.target.ref.model)
    }

    /// The attempt loop for a chat request, with context fallback: each attempt sends the request and
    /// hands the successful response to `read`.
    private func runChat<T: Sendable>(
        _ request: ChatRequest, route: ResolvedRoute, table: RouteTable, logger: Logger,
        read: (UpstreamResponse, AttemptContext) async throws(UpstreamFailure) -> T
    ) async throws(ExecutionFailure) -> (T, ExecutionReport) {
        let deadline = requestDeadline
        return try await withContextFallback(route: route, table: table) { route throws(ExecutionFailure) in
            try await loop.run(route: route, deadline: deadline, logger: logger) { context throws(UpstreamFailure) in
                try await read(try await send(request, context: context), context)
            }
        }
    }

    private func withContextFallback<T>(
        route: ResolvedRoute, table: RouteTable, run: (ResolvedRoute) async throws(ExecutionFailure) -> (T, ExecutionReport)
    ) async throws(ExecutionFailure) -> (T, ExecutionReport) {
        var current = route
        var earlier: [AttemptRecord] = []
        // A fallback chain is followed a few levels deep at most, so a misconfigured cycle cannot loop.
        for _ in 0..<4 {
            do {
                var (value, report) = try await run(current)
                report.attempts.insert(contentsOf: earlier, at: 0)
                return (value, report)
            } catch {
                guard error.error.failureKind == .contextLengthExceeded, let name = current.contextFallback, let next = table.route(named: name) else {
                    var failure = error
                    failure.report.attempts.insert(contentsOf: earlier, at: 0)
                    throw failure
                }
                earlier.append(contentsOf: error.report.attempts)
                current = next
            }
        }
        throw ExecutionFailure(
            error: GatewayError(code: .invalidRequest, status: 400, message: "The request is too long for every configured context fallback."),
            report: ExecutionReport(attempts: earlier))
    }

    /// Encodes, authenticates and sends; a non-success head becomes a classified failure.
    private func send(_ request: ChatRequest, context: AttemptContext) async throws(UpstreamFailure) -> UpstreamResponse {
        let adapter = context.target.provider.adapter
        // Fields only the client's own dialect carries reach a target only when it speaks that dialect natively
        // (a request without pass-through, like the Responses API's, has no such target).
        if !request.dialectOnlyFields.isEmpty,
            !(request.passThrough.map { adapter.servesNatively($0.dialect, model: context.target.ref.model) } ?? false)
        {
            throw .unsupported(
                "\(request.dialectOnlyFields.listed(upTo: 5)) cannot be sent to \(context.target.name) (provider type \(adapter.descriptor.type)).")
        }
        var upstream: UpstreamRequest
        do {
            upstream = try adapter.makeChatRequest(request, model: context.target.ref.model)
        } catch {
            throw .unsupported(error.message)
        }
        let clientDialect = answersInClientDialect(request, context: context) ? request.passThrough?.dialect : nil
        return try await execute(&upstream, context: context, clientDialect: clientDialect)
    }

    /// - Parameter clientDialect: the client's dialect when the target answers in it: a 4xx body in that
    ///   dialect's shape may then reach the client as sent.
    private func execute(
        _ upstream: inout UpstreamRequest, context: AttemptContext, clientDialect: PassThrough.Dialect? = nil
    ) async throws(UpstreamFailure) -> UpstreamResponse {
        if let injected = faults.failure(for: context.target.provider.name) { throw injected }
        try await context.credential.credential.authorize(&upstream)
        loop.tracing?.inject(into: &upstream.headers)
        // Deadlines live on the router's clock; the transport's timers run on the real one, so hand it the time left.
        let headDeadline = ContinuousClock.now + (context.firstByteDeadline - loop.timeSource.now)
        var response = try await context.target.provider.transport.execute(upstream, headDeadline: headDeadline)
        let credential = context.credential.credential
        if response.head.status == 401, credential.mintsTokens {
            // The token may have gone stale before its stated expiry (revoked, rotated): refresh once and resend.
            _ = try? await response.body.collect(upTo: Self.errorBodyLimit)
            await credential.invalidate()
            try await credential.authorize(&upstream)
            response = try await context.target.provider.transport.execute(upstream, headDeadline: headDeadline)
        }
        guard response.head.isSuccess else {
            // Enough of the error body to classify it; a silent upstream is cut off by the idle read timeout.
            let body = (try? await response.body.collect(upTo: Self.errorBodyLimit)) ?? ByteBuffer()
            var failure = context.target.provider.adapter.classifyFailure(head: response.head, body: body, model: context.target.ref.model)
            if let clientDialect, (400..<500).contains(response.head.status), let json = try? JSONParser.parse(body.readableBytesView),
                clientDialect.isErrorBody(json)
            {
                failure.vendorBody = body
            }
            throw failure
        }
        return response
    }

    /// Reads a whole body. The deadline is checked as chunks arrive; an upstream that goes silent is cut off
    /// by the transport's idle read timeout, so no timer task is needed per request.
    private func collect(_ body: UpstreamBody, limit: Int, deadline: ContinuousClock.Instant) async throws(UpstreamFailure) -> ByteBuffer {
        var result = ByteBuffer()
        var iterator = body.makeAsyncIterator()
        while true {
            let next: ByteBuffer?
            do {
                next = try await iterator.next()
            } catch {
                throw error as? UpstreamFailure ?? UpstreamFailure(kind: .unavailable, message: "upstream response body broke off")
            }
            guard var chunk = next else { return result }
            if loop.timeSource.now > deadline { throw UpstreamFailure(kind: .timeout, message: "the response body did not arrive in time") }
            guard result.readableBytes + chunk.readableBytes <= limit else {
                throw UpstreamFailure(kind: .unavailable, message: "upstream response is larger than \(limit) bytes")
            }
            result.writeBuffer(&chunk)
        }
    }
}

/// A value carried by reference through the attempt loop. Each generic async frame on the way (the loop, a
/// visit, the fallback chain) keeps its own copies of what it returns; with a whole response in them, the
/// loop's frame was 3.6 KB and a request's task allocated more memory slabs for its frames.
private final class Boxed<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
