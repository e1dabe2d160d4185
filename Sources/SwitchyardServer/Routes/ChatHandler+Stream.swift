import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// Streamed answers: the attempts until one stream starts, then the writer that carries it to the client.
extension ChatHandler {
    @inline(never)
    func stream(
        _ chat: ChatRequest, context dialectContext: Dialect.Context, route: ResolvedRoute, snapshot: GatewaySnapshot, requestID: String, logger: Logger, accounting: RequestAccounting
    ) async throws -> Response {
        let (events, report) = try await Self.openStream(chat, route: route, snapshot: snapshot, logger: logger, accounting: accounting)
        return streamResponse(
            events, report: report, chat: chat, context: dialectContext, route: route, requestID: requestID, logger: logger, accounting: accounting)
    }

    /// Runs the attempts until one stream starts. (The stream is then written from a task of its own, see
    /// ``GatewayConnectionHandler``, so the attempts' frames are freed while it runs.)
    @inline(never)
    private static func openStream(
        _ chat: ChatRequest, route: ResolvedRoute, snapshot: GatewaySnapshot, logger: Logger, accounting: RequestAccounting
    ) async throws(ExecutionFailure) -> (ChatEventStream, ExecutionReport) {
        try await accounting.recordingFailure { () async throws(ExecutionFailure) in
            try await snapshot.executor.openStream(chat, route: route, table: snapshot.table, logger: logger)
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
        headers.append(HTTPField(name: .cacheControl, value: "no-cache"))
        let target = report.target ?? "-"
        // Made now, so the body holds the encoder rather than the whole request (its JSON and messages) for the
        // stream's life.
        let encoder = dialect.makeStreamEncoder(for: chat, context: dialectContext)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // A client that goes away cancels this task (its connection holds it) and makes the next write
                // fail; either way the loop ends, and the upstream body it releases closes the upstream request.
                guard var events = events.takeReader() else { return try await writer.finish(nil) }
                var tally = StreamTally(text: accounting.requestBody == nil ? nil : "")
                let outcome: Result<Void, any Error>
                do {
                    try await Self.pump(
                        &events, to: &writer, dialect: dialect, encoder: encoder, context: dialectContext, gateway: gateway, target: target,
                        logger: logger, tally: &tally)
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
    /// `@concurrent` like the writer's methods (Hummingbird's protocol), which it calls with its `inout` writer.
    @inline(never)
    @concurrent private static func pump(
        _ events: inout ChatEventReader, to writer: inout some ResponseBodyWriter, dialect: Dialect, encoder: Dialect.StreamEncoder,
        context: Dialect.Context, gateway: Gateway, target: String, logger: Logger, tally: inout StreamTally
    ) async throws {
        var encoder = encoder
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
    @concurrent private static func forward(
        _ events: inout ChatEventReader, to writer: inout some ResponseBodyWriter, encoder: inout Dialect.StreamEncoder, dialect: Dialect,
        context: Dialect.Context, gateway: Gateway, target: String, logger: Logger, tally: inout StreamTally
    ) async throws {
        do {
            while let batch = try await events.next() {
                let (bytes, finished) = Self.forwardBytes(of: batch, from: &events, tally: &tally)
                if finished, dialect.keepsAnswers { await keepAnswer(in: bytes, dialect: dialect, context: context) }
                if let bytes { try await writer.write(bytes) }
            }
            // What came after the last batch's events (a final event without its blank line).
            let rest = events.takeForwardBytes()
            if !rest.isEmpty { try await writer.write(ByteBuffer(bytes: rest)) }
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
