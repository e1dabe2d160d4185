import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

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
        if eventLoop.inEventLoop {
            handler.value.abandon(generation: generation, context: context.value)
        } else {
            onLoop { handler, context in handler.abandon(generation: generation, context: context) }
        }
    }

    /// Hands `response` to a task of its own that sends it (a stream's), so the request's task can end.
    func sendFromOwnTask(_ response: Response) {
        onLoop { handler, context in handler.sendFromOwnTask(response, exchange: self, context: context) }
    }

    // Each operation calls the handler directly when the task is on the connection's loop (almost always)
    // and makes a closure only to go there otherwise: a closure handed to `onLoop` would be allocated
    // on every call, on the loop or not.
    func perform(_ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?) {
        if eventLoop.inEventLoop {
            handler.value.write(part, flush: flush, promise: promise, generation: generation, context: context.value)
        } else {
            let generation = generation
            onLoop { handler, context in handler.write(part, flush: flush, promise: promise, generation: generation, context: context) }
        }
    }

    func flushSoon() {
        if eventLoop.inEventLoop {
            handler.value.flushSoon(context: context.value)
        } else {
            onLoop { handler, context in handler.flushSoon(context: context) }
        }
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
