import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// One connection's fast path. Requests for ``FastPathRoutes`` are collected here and answered by a task
/// that prefers this connection's event loop; any other request passes on to Hummingbird untouched.
///
/// Answers leave in request order: while a request (either side's) is unanswered, later requests a client
/// pipelines wait here, and reads stop until they are served, so the wait is bounded by one read.
final class FastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Reading {
        case betweenRequests
        /// A request for Hummingbird: its parts pass on.
        case forwarding
        case collecting(head: HTTPRequest, respond: FastPathRoutes.Respond, body: ByteBuffer?, limit: Int)
        /// The rest of a body that was already refused as too large.
        case discarding
    }

    private let fastPath: FastPath
    private var reading = Reading.betweenRequests
    /// Requests whose response has not ended yet, forwarded ones included.
    private var unanswered = 0
    private var waiting = CircularBuffer<HTTPRequestPart>()
    private var readIsHeld = false
    /// The fast-path request being answered (set until its response ends), cancelled if its client goes away.
    private var inFlight: Task<Void, Never>?
    /// Tells a response's writes from those of a request answered after it.
    private var generation = 0
    private var closesAfterResponse = false
    private var isActive = true
    private var date = HTTPDateCache()

    init(fastPath: FastPath) {
        self.fastPath = fastPath
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !waiting.isEmpty || (unanswered > 0 && part.isHead) {
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
            unanswered += 1
            guard let respond = fastPath.routes.responder(for: head) else {
                reading = .forwarding
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            let limit = fastPath.maxBodyBytes()
            if let length = head.headerFields.value(of: .contentLength).flatMap(Int.init), length > limit {
                reading = .discarding
                start(head, body: .tooLarge(limit: limit), respond: respond, context: context)
            } else {
                reading = .collecting(head: head, respond: respond, body: nil, limit: limit)
            }
        case .body(let buffer):
            switch reading {
            case .forwarding:
                context.fireChannelRead(wrapInboundOut(part))
            case .collecting(let head, let respond, var body, let limit):
                reading = .betweenRequests  // the body buffer is uniquely referenced while it grows
                if body == nil { body = buffer } else { body!.writeImmutableBuffer(buffer) }
                if body!.readableBytes > limit {
                    reading = .discarding
                    start(head, body: .tooLarge(limit: limit), respond: respond, context: context)
                } else {
                    reading = .collecting(head: head, respond: respond, body: body, limit: limit)
                }
            case .discarding, .betweenRequests:
                break
            }
        case .end:
            switch reading {
            case .forwarding:
                context.fireChannelRead(wrapInboundOut(part))
            case .collecting(let head, let respond, let body, _):
                start(head, body: .complete(body ?? ByteBuffer()), respond: respond, context: context)
            case .discarding, .betweenRequests:
                break
            }
            reading = .betweenRequests
        }
    }

    /// Serves what waited behind the response that just ended, up to the next request that must wait.
    private func serveWaiting(context: ChannelHandlerContext) {
        var forwarded = false
        while let part = waiting.first, !(unanswered > 0 && part.isHead) {
            waiting.removeFirst()
            if case .forwarding = reading { forwarded = true }
            process(part, context: context)
            if case .forwarding = reading { forwarded = true }
        }
        // Hummingbird's side takes parts in batches at read-complete.
        if forwarded { context.fireChannelReadComplete() }
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

    private func start(_ head: HTTPRequest, body: CollectedBody, respond: @escaping FastPathRoutes.Respond, context: ChannelHandlerContext) {
        if let connection = head.headerFields.value(of: .connection), connection.lowercased().contains("close") { closesAfterResponse = true }
        let requestBody: RequestBody
        switch body {
        case .complete(let buffer): requestBody = RequestBody(buffer: buffer)
        // The handler reads the body after authenticating, and answers 413 in its dialect when it fails.
        case .tooLarge(let limit): requestBody = RequestBody(asyncSequence: TooLargeBody(limit: limit))
        }
        let request = Request(head: head, body: requestBody)
        generation &+= 1
        let exchange = FastPathExchange(
            eventLoop: context.eventLoop, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            context: NIOLoopBound(context, eventLoop: context.eventLoop), generation: generation)
        inFlight = Task(executorPreference: fastPath.executors.executor(for: context.eventLoop)) {
            let response = await respond(request)
            await exchange.send(response)
        }
    }

    fileprivate func write(_ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?, generation: Int, context: ChannelHandlerContext) {
        guard isActive, inFlight != nil, generation == self.generation else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch part {
        case .head(var head):
            head.headerFields[.date] = date.current()
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body, .end:
            context.write(wrapOutboundOut(part), promise: promise)
        }
        if flush { context.flush() }
        guard case .end = part else { return }
        inFlight = nil
        responseEnded(context: context)
    }

    /// A response that cannot be completed (its body failed or never finished): the client can only
    /// tell by the connection closing.
    fileprivate func abandon(generation: Int, context: ChannelHandlerContext) {
        guard isActive, inFlight != nil, generation == self.generation else { return }
        inFlight = nil
        context.close(promise: nil)
    }

    private func responseEnded(context: ChannelHandlerContext) {
        unanswered -= 1
        if closesAfterResponse, unanswered == 0 {
            context.close(promise: nil)
            return
        }
        serveWaiting(context: context)
    }

    /// Hummingbird's responses pass here on their way out; their end lets waiting requests go.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        context.write(data, promise: promise)
        if isEnd { responseEnded(context: context) }
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
        // A client that stops sending has given up on its answer (as on Hummingbird's side).
        if case .inputClosed? = event as? ChannelEvent { inFlight?.cancel() }
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

/// One fast-path response on its way from the request's task to the connection. Every channel operation
/// runs on the connection's event loop, which is almost always where the task already is.
struct FastPathExchange: Sendable {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<FastPathHandler>
    let context: NIOLoopBound<ChannelHandlerContext>
    let generation: Int

    /// Writes `response`. A body of known length goes out in one flush; a stream is flushed chunk by
    /// chunk, each write awaited, so a slow client slows its stream instead of filling memory.
    func send(_ response: Response) async {
        let isStream = response.body.contentLength == nil
        perform(.head(response.head), flush: false, promise: nil)
        do {
            try await response.body.write(FastPathBodyWriter(exchange: self, isStream: isStream))
        } catch {}
        // A body that threw, or returned without finishing, leaves a response the client cannot complete.
        onLoop { handler, context in handler.abandon(generation: generation, context: context) }
    }

    func perform(_ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?) {
        let generation = generation
        onLoop { handler, context in handler.write(part, flush: flush, promise: promise, generation: generation, context: context) }
    }

    private func onLoop(_ body: @escaping @Sendable (FastPathHandler, ChannelHandlerContext) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value, context.value)
        } else {
            eventLoop.execute { body(handler.value, context.value) }
        }
    }
}

private struct FastPathBodyWriter: ResponseBodyWriter {
    let exchange: FastPathExchange
    let isStream: Bool

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard isStream else { return exchange.perform(.body(buffer), flush: false, promise: nil) }
        let written = exchange.eventLoop.makePromise(of: Void.self)
        exchange.perform(.body(buffer), flush: true, promise: written)
        try await written.futureResult.get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        exchange.perform(.end(trailingHeaders), flush: true, promise: nil)
    }
}
