import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import SwitchyardCore

/// The end of every client connection's pipeline: reads each request from the connection's bytes
/// (``HTTP1RequestParser``), collects its body up to the limit, answers it from a task that prefers the
/// connection's event loop (cancelled if the client goes away), and writes the answer's bytes itself.
///
/// One handler where there were six (NIO's HTTP/1 decoder and protocol-error handler and response encoder,
/// a conversion between NIO's and HTTPTypes' parts, Hummingbird's connection-state handler): every request
/// and response part crossed each of them, each time boxed into `NIOAny` and cast back, and every field
/// was made a `String` pair, then converted again.
///
/// Answers leave in request order: while a request is unanswered, the bytes of requests a client pipelines
/// behind it stay unparsed, and reads stop until they are served, so the wait is bounded by one read.
///
/// HTTP/1.0: a 1.0 request is answered in HTTP/1.0, and the connection closes once it is answered (nothing
/// read after it is served); a body of unknown length is then ended by the close, not chunked, since a 1.0
/// client cannot read chunks.
final class GatewayConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What every connection's handler shares.
    struct Shared: Sendable {
        let routes: GatewayRoutes
        let executors: EventLoopExecutors
        let maxBodyBytes: @Sendable () -> Int
        /// How long a connection may sit without a request in progress, or with one that stopped arriving.
        let idleTimeout: TimeAmount
    }

    private enum Reading {
        case betweenRequests
        case collecting(head: HTTPRequest, respond: GatewayRoutes.Respond, body: ByteBuffer?, limit: Int)
        /// The rest of a body that was already refused as too large.
        case discarding
        /// The client sent something that is not HTTP/1: it was refused, and nothing more is read.
        case refused
    }

    private let shared: Shared
    private var reading = Reading.betweenRequests
    private var parser = HTTP1RequestParser()
    /// Bytes read and not parsed yet (nil when none): the rest of a request, or requests pipelined behind one
    /// being answered.
    private var unread: ByteBuffer?
    /// Whether a request was read whose response has not ended yet.
    private var isAnswering = false
    private var readIsHeld = false
    /// The request being answered (set until its response ends), cancelled if its client goes away.
    private var inFlight: Task<Void, Never>?
    /// Tells a response's writes from those of a request answered after it.
    private var generation = 0
    private var closesAfterResponse = false
    /// Whether the request being read (or answered) came in HTTP/1.0.
    private var isHTTP10 = false
    /// Whether the request being answered is a HEAD request (its answer is a head, never a body).
    private var answersHead = false
    /// How the body of the response being written is framed (set by its head).
    private var framing = HTTP1ResponseFraming.delimited
    private var flushIsScheduled = false
    private var isActive = true
    private var date = HTTPDateCache()
    private var idleTimer: Scheduled<Void>?
    /// When the connection last read a request head or ended an answer: the idle time counts from there.
    private var lastActivity = NIODeadline.now()
    /// Whether body bytes arrived since the idle timer last fired (a slow upload is not an idle connection).
    private var readBodySinceTimer = false

    init(shared: Shared) {
        self.shared = shared
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .refused = reading { return }
        let bytes = unwrapInboundIn(data)
        if unread == nil {
            unread = bytes
        } else {
            unread!.writeImmutableBuffer(bytes)
        }
        parseUnread(context: context)
    }

    func read(context: ChannelHandlerContext) {
        guard !isHoldingPipelinedRequest else {
            readIsHeld = true
            return
        }
        context.read()
    }

    /// Whether the next request's bytes wait for the answer in progress to end.
    private var isHoldingPipelinedRequest: Bool {
        isAnswering && parser.isBetweenRequests && unread != nil
    }

    /// Reads requests and their parts from `unread` until it is used up or the next request must wait.
    private func parseUnread(context: ChannelHandlerContext) {
        while !isHoldingPipelinedRequest {
            let part: HTTP1RequestParser.Part?
            if var bytes = unread {
                unread = nil  // `bytes` is then the only reference: slices and appends need no copy
                do {
                    part = try parser.next(&bytes)
                } catch {
                    return refuseUnreadableRequest(error, context: context)
                }
                if bytes.readableBytes > 0 { unread = bytes }
            } else {
                // A body that ended with the bytes read (or a request without one) ends without more.
                part = parser.endOfCompleteBody()
            }
            guard let part else { return }
            process(part, context: context)
            if case .refused = reading { return }
        }
    }

    private func process(_ part: HTTP1RequestParser.Part, context: ChannelHandlerContext) {
        switch part {
        case .head(var parsed):
            isAnswering = true
            lastActivity = .now()
            isHTTP10 = parsed.isHTTP10
            if isHTTP10 { parsed.fields[.connection] = "close" }
            let head: HTTPRequest
            do {
                head = try HTTP1RequestConversion.request(parsed)
            } catch {
                // A request target the library cannot read as a URL.
                return refuseUnreadableRequest(HTTP1RequestParseError.malformed("malformed request target"), context: context)
            }
            let respond = shared.routes.responder(for: head)
            let limit = shared.maxBodyBytes()
            // A client that asks first (curl does for large bodies) sends its body once told to go on.
            let expectsContinue = !isHTTP10 && parsed.framing != .none && parsed.framing != .length(0)
                && parsed.fields.value(of: .expect).map { HTTP1Syntax.equalsCaseInsensitively($0.utf8, "100-continue") } == true
            if case .length(let length) = parsed.framing, length > limit {
                // Refused before the body was asked for: the client may never send it, so the connection cannot
                // tell where the next request starts and closes after the answer (RFC 9110 §10.1.1).
                if expectsContinue { closesAfterResponse = true }
                reading = .discarding
                start(head, body: .tooLarge(limit: limit), respond: respond, context: context)
            } else {
                if expectsContinue { context.writeAndFlush(wrapOutboundOut(HTTP1ResponseFraming.continue), promise: nil) }
                reading = .collecting(head: head, respond: respond, body: nil, limit: limit)
            }
        case .body(let buffer):
            readBodySinceTimer = true
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
        parseUnread(context: context)
        if !isHoldingPipelinedRequest, readIsHeld {
            readIsHeld = false
            context.read()
        }
    }

    /// What the client sent cannot be read as a request: refused with a status that says why (400, 431,
    /// 501, 505) if no answer is in progress (then the connection closes), else the connection closes once
    /// the answer in progress ends.
    private func refuseUnreadableRequest(_ error: HTTP1RequestParseError, context: ChannelHandlerContext) {
        unread = nil
        reading = .refused
        if isAnswering, inFlight != nil {
            closesAfterResponse = true
            return
        }
        isAnswering = true
        context.writeAndFlush(wrapOutboundOut(HTTP1ResponseFraming.refusal(error.status, date: date.current())), promise: nil)
        context.close(promise: nil)
    }

    // MARK: Answering

    private func start(_ head: HTTPRequest, body: CollectedRequestBody, respond: @escaping GatewayRoutes.Respond, context: ChannelHandlerContext) {
        if let connection = head.headerFields.value(of: .connection), HTTPFields.listsCloseToken(connection) { closesAfterResponse = true }
        let requestBody: RequestBody
        switch body {
        case .complete(let buffer): requestBody = RequestBody(buffer: buffer)
        // The handler reads the body after authenticating, and answers 413 in its dialect when it fails.
        case .tooLarge(let limit): requestBody = RequestBody(asyncSequence: TooLargeBody(limit: limit))
        }
        let request = Request(head: head, body: requestBody)
        answersHead = head.method == .head
        generation &+= 1
        let exchange = ResponseExchange(
            eventLoop: context.eventLoop, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            context: NIOLoopBound(context, eventLoop: context.eventLoop), generation: generation, omitsBody: head.method == .head)
        let channel = context.channel
        inFlight = Task(executorPreference: shared.executors.executor(for: context.eventLoop)) {
            let response = await respond(request, body, channel)
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
    func sendFromOwnTask(_ response: Response, exchange: ResponseExchange, context: ChannelHandlerContext) {
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
    func write(_ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?, generation: Int, context: ChannelHandlerContext) -> Bool {
        guard isCurrent(generation) else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return false
        }
        switch part {
        case .head(let head):
            let (bytes, framing) = HTTP1ResponseFraming.head(
                of: head, date: date.current(), http10: isHTTP10, closes: closesAfterResponse, omitsBody: answersHead,
                allocator: context.channel.allocator)
            if head.status.kind != .informational { self.framing = framing }
            context.write(wrapOutboundOut(bytes), promise: promise)
        case .body(let buffer):
            framing.writeBody(buffer, promise: promise, context: context)
        case .end(let trailers):
            framing.writeEnd(trailers: trailers, promise: promise, context: context)
        }
        if flush { context.flush() }
        guard case .end = part else { return true }
        isAnswering = false
        inFlight = nil
        // RFC 9112 §9.6: a server that will close after this answer says so in it (its head did); a body
        // ended by the close must close too.
        if closesAfterResponse || framing == .untilClose {
            if !flush { context.flush() }
            context.close(promise: nil)
            return true
        }
        lastActivity = .now()
        serveWaiting(context: context)
        if !isAnswering { armIdleTimer(context: context) }
        return true
    }

    /// Flushes once the task that writes yields the event loop: what it writes until then (the rest of a
    /// burst the vendor sent in one piece, the stream's end) leaves in one write. Whichever response the
    /// pending bytes belong to, they are in order, so the flush need not know.
    func flushSoon(context: ChannelHandlerContext) {
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
    func isWritable(generation: Int, context: ChannelHandlerContext) -> Bool {
        isCurrent(generation) && context.channel.isWritable
    }

    /// A response that cannot be completed (its body failed or never finished): the client can only
    /// tell by the connection closing.
    func abandon(generation: Int, context: ChannelHandlerContext) {
        guard isCurrent(generation) else { return }
        inFlight = nil
        context.close(promise: nil)
    }

    // MARK: Idle connections and shutdown

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        armIdleTimer(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armIdleTimer(context: context) }
    }

    /// At most one timer per connection, scheduled when none is pending: a busy connection reschedules it
    /// once per timeout, not once per request.
    private func armIdleTimer(context: ChannelHandlerContext, at deadline: NIODeadline? = nil) {
        guard idleTimer == nil, isActive else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: deadline ?? lastActivity + shared.idleTimeout) {
            let (handler, context) = loopBound.value
            handler.idleTimerFired(context: context)
        }
    }

    private func idleTimerFired(context: ChannelHandlerContext) {
        idleTimer = nil
        let isReadingBody: Bool
        switch reading {
        case .collecting, .discarding: isReadingBody = true
        case .betweenRequests, .refused: isReadingBody = false
        }
        // An answer in progress (and only its own request read) is not idle; its end arms the timer again.
        if isAnswering, !isReadingBody { return }
        if isReadingBody, readBodySinceTimer {
            readBodySinceTimer = false
            lastActivity = .now()
        }
        let deadline = lastActivity + shared.idleTimeout
        if deadline > .now() {
            armIdleTimer(context: context, at: deadline)
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // Shutting down: an idle connection closes now, a busy one once its answer ends.
            if isAnswering { closesAfterResponse = true } else { context.close(promise: nil) }
        case let event as ChannelEvent where event == .inputClosed:
            // A request cut short can never be read whole.
            if parser.isInsideRequest(hasUnreadBytes: unread != nil), !isHoldingPipelinedRequest {
                refuseUnreadableRequest(.malformed("the client stopped sending mid-request"), context: context)
            }
            // A client that stops sending has given up on its answer.
            inFlight?.cancel()
            // Nothing more will be asked: the connection closes once the answer in progress (if any) ends.
            if isAnswering { closesAfterResponse = true } else { context.close(promise: nil) }
            context.fireUserInboundEventTriggered(event)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: The client going away

    func channelInactive(context: ChannelHandlerContext) {
        clientWentAway()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clientWentAway()
    }

    private func clientWentAway() {
        isActive = false
        inFlight?.cancel()
        inFlight = nil
        unread = nil
        idleTimer?.cancel()
        idleTimer = nil
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
