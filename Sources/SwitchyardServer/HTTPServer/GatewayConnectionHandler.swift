import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// The end of every client connection's pipeline: collects each request (its body up to the limit) and
/// answers it from a task that prefers the connection's event loop, cancelled if the client goes away.
///
/// Answers leave in request order: while a request is unanswered, requests a client pipelines behind it
/// wait here, and reads stop until they are served, so the wait is bounded by one read.
final class GatewayConnectionHandler: ChannelInboundHandler, ChannelOutboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPResponsePart

    /// What every connection's handler shares.
    struct Shared: Sendable {
        let routes: GatewayRoutes
        let executors: EventLoopExecutors
        let maxBodyBytes: @Sendable () -> Int
    }

    private enum Reading {
        case betweenRequests
        case collecting(head: HTTPRequest, respond: GatewayRoutes.Respond, body: ByteBuffer?, limit: Int)
        /// The rest of a body that was already refused as too large.
        case discarding
    }

    private let shared: Shared
    private var reading = Reading.betweenRequests
    /// Whether a request was read whose response has not ended yet.
    private var isAnswering = false
    /// Parts a client pipelined behind a request still being answered (rare: room for one until then,
    /// where the default would hold sixteen for every connection's life).
    private var waiting = CircularBuffer<HTTPRequestPart>(initialCapacity: 1)
    private var readIsHeld = false
    /// The request being answered (set until its response ends), cancelled if its client goes away.
    private var inFlight: Task<Void, Never>?
    /// Tells a response's writes from those of a request answered after it.
    private var generation = 0
    private var closesAfterResponse = false
    private var flushIsScheduled = false
    private var isActive = true
    private var date = HTTPDateCache()

    init(shared: Shared) {
        self.shared = shared
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !waiting.isEmpty || (isAnswering && part.isHead) {
            waiting.append(part)
            return
        }
        process(part, context: context)
    }

    func read(context: ChannelHandlerContext) {
        guard waiting.isEmpty else {
            readIsHeld = true
            return
        }
        context.read()
    }

    private func process(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            isAnswering = true
            let respond = shared.routes.responder(for: head)
            let limit = shared.maxBodyBytes()
            if let length = head.headerFields.value(of: .contentLength).flatMap(Int.init), length > limit {
                reading = .discarding
                start(head, body: .tooLarge(limit: limit), respond: respond, context: context)
            } else {
                reading = .collecting(head: head, respond: respond, body: nil, limit: limit)
            }
        case .body(let buffer):
            guard case .collecting(let head, let respond, var body, let limit) = reading else { return }
            reading = .betweenRequests  // the body buffer is uniquely referenced while it grows
            if body == nil { body = buffer } else { body!.writeImmutableBuffer(buffer) }
            if body!.readableBytes > limit {
                reading = .discarding
                start(head, body: .tooLarge(limit: limit), respond: respond, context: context)
            } else {
                reading = .collecting(head: head, respond: respond, body: body, limit: limit)
            }
        case .end:
            if case .collecting(let head, let respond, let body, _) = reading {
                start(head, body: .complete(body ?? ByteBuffer()), respond: respond, context: context)
            }
            reading = .betweenRequests
        }
    }

    /// Serves what waited behind the response that just ended, up to the next request that must wait.
    private func serveWaiting(context: ChannelHandlerContext) {
        while let part = waiting.first, !(isAnswering && part.isHead) {
            waiting.removeFirst()
            process(part, context: context)
        }
        if waiting.isEmpty, readIsHeld {
            readIsHeld = false
            context.read()
        }
    }

    // MARK: Answering

    private enum CollectedBody {
        case complete(ByteBuffer)
        case tooLarge(limit: Int)
    }

    private func start(_ head: HTTPRequest, body: CollectedBody, respond: @escaping GatewayRoutes.Respond, context: ChannelHandlerContext) {
        if let connection = head.headerFields.value(of: .connection), HTTPFields.listsCloseToken(connection) { closesAfterResponse = true }
        let requestBody: RequestBody
        switch body {
        case .complete(let buffer): requestBody = RequestBody(buffer: buffer)
        // The handler reads the body after authenticating, and answers 413 in its dialect when it fails.
        case .tooLarge(let limit): requestBody = RequestBody(asyncSequence: TooLargeBody(limit: limit))
        }
        let request = Request(head: head, body: requestBody)
        generation &+= 1
        let exchange = ResponseExchange(
            eventLoop: context.eventLoop, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            context: NIOLoopBound(context, eventLoop: context.eventLoop), generation: generation, omitsBody: head.method == .head)
        let channel = context.channel
        inFlight = Task(executorPreference: shared.executors.executor(for: context.eventLoop)) {
            let response = await respond(request, channel)
            // A task keeps the memory of its deepest chain of calls (parsing, routing, the attempts) until it
            // ends, and a stream may last minutes: its body is written from a task of its own.
            if response.body.contentLength == nil, !exchange.omitsBody {
                exchange.sendFromOwnTask(response)
            } else {
                await exchange.send(response)
            }
        }
    }

    /// Writes a stream's response from a new task that takes the place of the request's. The body always
    /// runs, so its stream is released and its request accounted for, even when nobody will read it.
    fileprivate func sendFromOwnTask(_ response: Response, exchange: ResponseExchange, context: ChannelHandlerContext) {
        let isCurrent = isCurrent(exchange.generation)
        // A client that went away, or stopped sending, while the request's task ran has cancelled that task.
        let isCancelled = !isCurrent || inFlight?.isCancelled == true
        let writing = Task(executorPreference: shared.executors.executor(for: context.eventLoop)) {
            await exchange.send(response)
        }
        if isCurrent { inFlight = writing }
        if isCancelled { writing.cancel() }
    }

    /// Whether `generation` is the response being answered on a connection still open.
    private func isCurrent(_ generation: Int) -> Bool {
        isActive && inFlight != nil && generation == self.generation
    }

    /// Writes one part of the current response; false (and the promise failed) when it cannot be written any more.
    @discardableResult
    fileprivate func write(_ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?, generation: Int, context: ChannelHandlerContext) -> Bool {
        guard isCurrent(generation) else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return false
        }
        switch part {
        case .head(var head):
            head.headerFields[.date] = date.current()
            // RFC 9112 §9.6: a server that will close after this answer says so in it.
            if closesAfterResponse { head.headerFields[.connection] = "close" }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body, .end:
            context.write(wrapOutboundOut(part), promise: promise)
        }
        if flush { context.flush() }
        guard case .end = part else { return true }
        isAnswering = false
        inFlight = nil
        if closesAfterResponse {
            context.close(promise: nil)
            return true
        }
        serveWaiting(context: context)
        return true
    }

    /// Flushes once the task that writes yields the event loop: what it writes until then (the rest of a
    /// burst the vendor sent in one piece, the stream's end) leaves in one write. Whichever response the
    /// pending bytes belong to, they are in order, so the flush need not know.
    fileprivate func flushSoon(context: ChannelHandlerContext) {
        guard !flushIsScheduled else { return }
        flushIsScheduled = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.flushIsScheduled = false
            if handler.isActive { context.flush() }
        }
    }

    /// Whether the connection takes more without waiting (below NIO's high watermark of unwritten bytes).
    fileprivate func isWritable(generation: Int, context: ChannelHandlerContext) -> Bool {
        isCurrent(generation) && context.channel.isWritable
    }

    /// A response that cannot be completed (its body failed or never finished): the client can only
    /// tell by the connection closing.
    fileprivate func abandon(generation: Int, context: ChannelHandlerContext) {
        guard isCurrent(generation) else { return }
        inFlight = nil
        context.close(promise: nil)
    }

    // MARK: The client going away

    func channelInactive(context: ChannelHandlerContext) {
        clientWentAway()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clientWentAway()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A client that stops sending has given up on its answer.
        if case .inputClosed? = event as? ChannelEvent {
            inFlight?.cancel()
            // Nothing more will be asked: the connection closes once the answer in progress (if any) ends.
            if isAnswering { closesAfterResponse = true } else { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func clientWentAway() {
        isActive = false
        inFlight?.cancel()
        inFlight = nil
        waiting.removeAll()
    }
}

extension HTTPRequestPart {
    fileprivate var isHead: Bool {
        if case .head = self { true } else { false }
    }
}

/// A request body that fails as over the limit when read.
private struct TooLargeBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let limit: Int
        mutating func next() async throws -> ByteBuffer? { throw NIOTooManyBytesError(maxBytes: limit) }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(limit: limit) }
}

/// One response on its way from the request's task to the connection. Every channel operation
/// runs on the connection's event loop, which is almost always where the task already is.
struct ResponseExchange: Sendable {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<GatewayConnectionHandler>
    let context: NIOLoopBound<ChannelHandlerContext>
    let generation: Int
    /// The answer to a HEAD request: its head says what a GET would get, and no body follows.
    let omitsBody: Bool

    /// Writes `response`. A body of known length goes out in one flush. A stream's writes go out as the
    /// task yields the event loop (one write per burst of events read together, the first content at once);
    /// a write is awaited only when the client is not taking what was written, so a slow client slows its
    /// stream instead of filling memory.
    func send(_ response: Response) async {
        let isStream = response.body.contentLength == nil
        perform(.head(response.head), flush: false, promise: nil)
        // A stream's head must not wait for its first chunk, which may be a long time coming (a live feed);
        // flushed once this task next yields the loop, it still leaves in one write with a chunk that is ready.
        if isStream { flushSoon() }
        if omitsBody { return perform(.end(nil), flush: true, promise: nil) }
        do {
            try await response.body.write(ResponseExchangeBodyWriter(exchange: self, isStream: isStream))
        } catch {}
        // A body that threw, or returned without finishing, leaves a response the client cannot complete.
        onLoop { handler, context in handler.abandon(generation: generation, context: context) }
    }

    /// Hands `response` to a task of its own that sends it (a stream's), so the request's task can end.
    func sendFromOwnTask(_ response: Response) {
        onLoop { handler, context in handler.sendFromOwnTask(response, exchange: self, context: context) }
    }

    func perform(_ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?) {
        let generation = generation
        onLoop { handler, context in handler.write(part, flush: flush, promise: promise, generation: generation, context: context) }
    }

    func flushSoon() {
        onLoop { handler, context in handler.flushSoon(context: context) }
    }

    /// Writes a stream's chunk without waiting when the task is on the connection's loop and the client keeps
    /// up; the flush is left to ``flushSoon()`` unless `flush`. Nil when the write must be awaited instead.
    func writeWithoutWaiting(_ buffer: ByteBuffer, flush: Bool) -> Result<Void, ChannelError>? {
        guard eventLoop.inEventLoop else { return nil }
        let handler = handler.value
        let context = context.value
        guard handler.isWritable(generation: generation, context: context) else { return nil }
        guard handler.write(.body(buffer), flush: flush, promise: nil, generation: generation, context: context) else {
            return .failure(.ioOnClosedChannel)
        }
        if !flush { handler.flushSoon(context: context) }
        return .success(())
    }

    private func onLoop(_ body: @escaping @Sendable (GatewayConnectionHandler, ChannelHandlerContext) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value, context.value)
        } else {
            eventLoop.execute { body(handler.value, context.value) }
        }
    }
}

private struct ResponseExchangeBodyWriter: ResponseBodyWriter {
    let exchange: ResponseExchange
    let isStream: Bool
    private var hasWritten = false

    init(exchange: ResponseExchange, isStream: Bool) {
        self.exchange = exchange
        self.isStream = isStream
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard isStream else { return exchange.perform(.body(buffer), flush: false, promise: nil) }
        // The first chunk (the first content, usually) leaves at once; later ones with the rest of their burst.
        let flush = !hasWritten
        hasWritten = true
        if let written = exchange.writeWithoutWaiting(buffer, flush: flush) {
            try written.get()
            // With its first content out, the stream lets the loop's other work go first (other streams' first
            // content among it) before it writes the rest of a burst.
            if flush { await Task.yield() }
            return
        }
        let written = exchange.eventLoop.makePromise(of: Void.self)
        exchange.perform(.body(buffer), flush: true, promise: written)
        try await written.futureResult.get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        exchange.perform(.end(trailingHeaders), flush: true, promise: nil)
    }
}
