import NIOCore
import NIOHTTP1
import SwitchyardCore

/// One request and its response on an upstream connection, from the moment a connection is sought until
/// the caller has read the last body byte (or gave up).
///
/// Confined to one event loop: the loop of the connection it runs on, which is also the loop of the
/// client connection that asked for it when request handling prefers that loop, so the caller's awaits
/// resume without a thread hop. Callers on other threads reach it through ``perform(_:)``.
final class UpstreamExchange: @unchecked Sendable {
    /// Bytes buffered for a slow reader before the connection stops reading from the socket.
    static let highWaterMark = 256 * 1024
    static let lowWaterMark = 64 * 1024

    let eventLoop: any EventLoop
    let url: UpstreamURL
    let requestHead: HTTPRequestHead
    let requestBody: ByteBuffer?
    let headDeadline: NIODeadline
    let connectDeadline: NIODeadline
    let idleReadTimeout: TimeAmount

    private enum Phase {
        case waitingForHead
        case streaming
        case ended
        case failed(UpstreamFailure)
    }

    typealias HeadWaiter = UnsafeContinuation<Result<UpstreamHead, UpstreamFailure>, Never>
    typealias BodyWaiter = UnsafeContinuation<Result<ByteBuffer?, UpstreamFailure>, Never>

    private var phase = Phase.waitingForHead
    private var headWaiter: HeadWaiter?
    private var receivedHead: UpstreamHead?
    private var chunks = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var bufferedBytes = 0
    private var bodyWaiter: BodyWaiter?
    /// The connection carrying this exchange until the response ended; nil before one is assigned.
    private(set) var connection: UpstreamConnectionHandler?
    /// Set once the exchange was sent again on a fresh connection after a reused one turned out closed.
    var wasRetried = false

    init(
        eventLoop: any EventLoop, url: UpstreamURL, requestHead: HTTPRequestHead, requestBody: ByteBuffer?, headDeadline: NIODeadline,
        connectDeadline: NIODeadline, idleReadTimeout: TimeAmount
    ) {
        self.eventLoop = eventLoop
        self.url = url
        self.requestHead = requestHead
        self.requestBody = requestBody
        self.headDeadline = headDeadline
        self.connectDeadline = connectDeadline
        self.idleReadTimeout = idleReadTimeout
    }

    /// Runs `body` on the exchange's loop: inline when already there.
    func perform(_ body: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    var isFinished: Bool {
        switch phase {
        case .ended, .failed: true
        case .waitingForHead, .streaming: false
        }
    }

    var hasHead: Bool { receivedHead != nil }

    /// Whether the reader is so far behind that the connection should stop reading.
    var isBufferFull: Bool { bufferedBytes >= Self.highWaterMark }

    // MARK: Connection side

    func attach(to connection: UpstreamConnectionHandler) {
        self.connection = connection
    }

    func receive(head: UpstreamHead) {
        guard case .waitingForHead = phase else { return }
        phase = .streaming
        receivedHead = head
        if let waiter = headWaiter {
            headWaiter = nil
            waiter.resume(returning: .success(head))
        }
    }

    func receive(body: ByteBuffer) {
        guard case .streaming = phase else { return }
        if let waiter = bodyWaiter {
            bodyWaiter = nil
            waiter.resume(returning: .success(body))
        } else {
            bufferedBytes += body.readableBytes
            chunks.append(body)
        }
    }

    /// The response ended; the connection moves on to other exchanges.
    func receiveEnd() {
        connection = nil
        guard case .streaming = phase else { return }
        phase = .ended
        if let waiter = bodyWaiter {
            bodyWaiter = nil
            waiter.resume(returning: .success(nil))
        }
    }

    /// Fails whatever the caller waits for now or next. Body bytes that arrived before the failure are still
    /// read first (a stream's client gets the content so far, then the error); ``abandon(because:)`` drops them.
    func fail(_ failure: UpstreamFailure) {
        connection = nil
        switch phase {
        case .ended, .failed: return
        case .waitingForHead, .streaming: phase = .failed(failure)
        }
        if let waiter = headWaiter {
            headWaiter = nil
            waiter.resume(returning: .failure(failure))
        }
        if let waiter = bodyWaiter {
            bodyWaiter = nil
            waiter.resume(returning: .failure(failure))
        }
    }

    // MARK: Caller side (on the loop)

    func awaitHead(_ waiter: HeadWaiter) {
        switch phase {
        case .failed(let failure): waiter.resume(returning: .failure(failure))
        case .waitingForHead: headWaiter = waiter
        case .streaming, .ended:
            if let receivedHead { waiter.resume(returning: .success(receivedHead)) } else { waiter.resume(returning: .failure(.cancelled)) }
        }
    }

    /// The next chunk, the end or the failure if one is due without waiting; nil if the reader must wait.
    func takeReady() -> Result<ByteBuffer?, UpstreamFailure>? {
        if let chunk = chunks.popFirst() {
            bufferedBytes -= chunk.readableBytes
            if bufferedBytes < Self.lowWaterMark { connection?.resumeReading() }
            return .success(chunk)
        }
        switch phase {
        case .failed(let failure): return .failure(failure)
        case .ended: return .success(nil)
        case .waitingForHead, .streaming: return nil
        }
    }

    func nextChunk(_ waiter: BodyWaiter) {
        if let ready = takeReady() {
            waiter.resume(returning: ready)
            return
        }
        bodyWaiter = waiter
        connection?.resumeReading()
    }

    /// The caller stopped before the end (it went away, or read all it wanted): the connection cannot be
    /// reused with an unread response on it, so it closes.
    func abandon(because failure: UpstreamFailure) {
        let connection = connection
        fail(failure)
        // A response that had already ended is dropped too: a later read must fail, not find a clean end
        // with no bytes (an empty body would read as the upstream's fault).
        if case .ended = phase, !chunks.isEmpty { phase = .failed(failure) }
        chunks.removeAll()
        bufferedBytes = 0
        connection?.close()
    }
}

/// The body of an upstream response read through its exchange; when the last reference to it goes away
/// before the response ended, the exchange is abandoned and its connection closed.
final class UpstreamBodySource: Sendable {
    private let exchange: UpstreamExchange

    init(exchange: UpstreamExchange) {
        self.exchange = exchange
    }

    func next() async throws(UpstreamFailure) -> ByteBuffer? {
        let exchange = exchange
        // What has arrived already is taken without suspending: no cancellation handler to register (a
        // locked status record) and no continuation, per chunk of a burst and for an answer read whole.
        if exchange.eventLoop.inEventLoop, !Task.isCancelled, let ready = exchange.takeReady() {
            return try ready.get()
        }
        return try await withTaskCancellationHandler {
            await withUnsafeContinuation { (waiter: UpstreamExchange.BodyWaiter) in
                exchange.perform { exchange.nextChunk(waiter) }
            }
        } onCancel: {
            exchange.perform { exchange.abandon(because: .cancelled) }
        }.get()
    }

    deinit {
        let exchange = exchange
        exchange.perform { exchange.abandon(because: .cancelled) }
    }
}
