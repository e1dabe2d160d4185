import NIOCore
import NIOHTTP1
import SwitchyardCore

/// What an upstream connection (HTTP/1.1) or stream (HTTP/2) does with the exchanges it carries, whatever
/// its protocol: carries one at a time, tells its pool when it is free again or gone, holds socket reads
/// while the reader is behind, and enforces the head deadline and the idle-read timeout with one timer that
/// the exchanges it carries share. ``UpstreamHTTP1ConnectionHandler`` and ``UpstreamHTTP2StreamHandler``
/// are the channel handlers: they write the request and hand the response's parts to `receive…`.
class UpstreamConnectionHandler: @unchecked Sendable {
    let hostKey: UpstreamHostKey
    /// Called on the loop when an exchange ended: `reusable` says whether the connection may carry another.
    var onIdle: ((UpstreamConnectionHandler, _ reusable: Bool) -> Void)?
    /// Called once on the loop when the connection closed, with the exchange it carried (unfailed, so the
    /// pool may send it again) and what it would fail with.
    var onClosed: ((UpstreamConnectionHandler, _ lost: (exchange: UpstreamExchange, failure: UpstreamFailure)?) -> Void)?
    /// What a closed connection's exchange fails with (the pool turns it into `cancelled` after shutdown).
    static let closedFailure = UpstreamFailure(kind: .unavailable, message: "upstream closed the connection")

    private var context: ChannelHandlerContext?
    private(set) var exchange: UpstreamExchange?
    private var isReadHeld = false
    private var lastReadAt = NIODeadline.now()
    private var timer: Scheduled<Void>?
    /// When `timer` fires.
    private var timerDue: NIODeadline?
    private var requestKeepsAlive = true
    /// The first error the connection (or stream) saw.
    private(set) var lastError: (any Error)?
    private(set) var exchangesCarried = 0
    /// Whether any byte arrived since the exchange in flight was sent: its request reached the upstream.
    private(set) var hasReadSinceSending = false
    private(set) var isOpen = true
    /// When the connection last became idle, for dropping connections idle too long to trust.
    var idleSince = NIODeadline.now()

    init(hostKey: UpstreamHostKey) {
        self.hostKey = hostKey
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends `exchange`'s request on this connection.
    func start(_ exchange: UpstreamExchange) {
        guard let context, isOpen else {
            exchange.fail(Self.closedFailure)
            return
        }
        self.exchange = exchange
        exchangesCarried += 1
        hasReadSinceSending = false
        exchange.attach(to: self)
        requestKeepsAlive = exchange.requestHead.isKeepAlive
        write(exchange, context: context)
        watch(until: exchange.headDeadline)
        if isReadHeld { resumeReading() }
    }

    /// Writes and flushes `exchange`'s request, as the protocol frames it.
    func write(_ exchange: UpstreamExchange, context: ChannelHandlerContext) {
        preconditionFailure("a protocol's handler writes the request")
    }

    /// Lets the socket be read again once the reader caught up.
    func resumeReading() {
        guard isReadHeld, let context else { return }
        isReadHeld = false
        context.read()
    }

    func close() {
        guard isOpen, let context else { return }
        context.close(promise: nil)
    }

    // MARK: Inbound

    /// Bytes arrived: the upstream is not silent.
    func noteRead() {
        lastReadAt = .now()
        hasReadSinceSending = true
    }

    /// The response's head (an interim one is not passed here).
    func receive(head: UpstreamHead, keepsAlive: Bool) {
        requestKeepsAlive = requestKeepsAlive && keepsAlive
        guard let exchange else { return }
        exchange.receive(head: head)
        // From here the timer watches for silence; move it up when silence would end sooner than the head deadline.
        let silenceDue = lastReadAt + exchange.idleReadTimeout
        if silenceDue < exchange.headDeadline { watch(until: silenceDue) }
    }

    func receive(body bytes: ByteBuffer) {
        exchange?.receive(body: bytes)
    }

    /// The response ended; `reusable` is false when the connection cannot carry another (bytes beyond it).
    func receiveEnd(reusable: Bool = true) {
        guard let exchange else { return }
        // The timer stays: it finds no exchange when it fires, or checks the next one's deadline then.
        self.exchange = nil
        exchange.receiveEnd()
        idleSince = lastReadAt
        onIdle?(self, reusable && requestKeepsAlive && isOpen)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        timer?.cancel()
        timer = nil
        timerDue = nil
        var lost: (UpstreamExchange, UpstreamFailure)?
        if let exchange {
            self.exchange = nil
            lost = (exchange, lastError.map(Self.classify) ?? Self.closedFailure)
        }
        if let onClosed {
            self.onClosed = nil
            onClosed(self, lost)
        } else if let lost {
            lost.0.fail(lost.1)
        }
        onIdle = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The exchange fails (or is sent again) when the connection is gone, in channelInactive.
        if lastError == nil { lastError = error }
        context.close(promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if let exchange, exchange.isBufferFull {
            isReadHeld = true
        } else {
            context.read()
        }
    }

    // MARK: Timeouts

    /// Makes sure the timer fires by `deadline`. A timer already due sooner is kept: when it fires it checks
    /// the exchange in flight then and sets itself for that one's due time, so back-to-back exchanges on a
    /// kept-alive connection schedule and cancel nothing each.
    private func watch(until deadline: NIODeadline) {
        if let timerDue, timerDue <= deadline { return }
        schedule(at: deadline)
    }

    private func schedule(at deadline: NIODeadline) {
        guard let context else { return }
        timer?.cancel()
        timerDue = deadline
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) { loopBound.value.timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerDue = nil
        guard let exchange, isOpen else { return }
        let now = NIODeadline.now()
        let due: NIODeadline
        if exchange.hasHead {
            // Reads held for a slow reader are the gateway's doing, not the upstream's silence.
            due = isReadHeld ? now + exchange.idleReadTimeout : lastReadAt + exchange.idleReadTimeout
        } else {
            due = exchange.headDeadline
        }
        if now < due {
            schedule(at: due)
            return
        }
        self.exchange = nil
        exchange.fail(UpstreamFailure(kind: .timeout, message: "upstream did not respond in time"))
        close()
    }

    static func classify(_ error: any Error) -> UpstreamFailure {
        if let failure = error as? UpstreamFailure { return failure }
        // Channel and TLS errors describe the connection (refused, reset, certificate checks), never the request.
        var description = String(describing: error)
        if description.count > 160 { description = String(description.prefix(160)) }
        return UpstreamFailure(kind: .unavailable, message: "upstream connection failed: \(description)")
    }
}

/// Where an upstream connection goes: connections are pooled per host key.
struct UpstreamHostKey: Hashable, Sendable {
    var isTLS: Bool
    var host: String
    var port: Int

    init(_ url: UpstreamURL) {
        isTLS = url.isTLS
        host = url.host
        port = url.port
    }
}
