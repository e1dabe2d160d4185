import NIOCore
import NIOHTTP1
import NIOHTTP2
import SwitchyardCore

/// One HTTP/2 connection to an upstream host, chosen by ALPN during the TLS handshake: every exchange is a
/// stream of its own, so one connection (one TLS session, one socket) carries as many concurrent requests as
/// the server allows instead of one each.
///
/// Each stream gets an ``UpstreamHTTP2StreamHandler`` behind NIO's HTTP/2-to-HTTP/1 codec, so an exchange on a
/// stream keeps the head deadline, the idle-read timeout and the reader's backpressure (held reads stop the
/// stream's flow-control window, not the connection) that it has on an HTTP/1.1 connection.
///
/// The last handler of the connection's pipeline, after NIO's HTTP/2 handler: it sees the frames of stream 0
/// (the server's settings, GOAWAY). Confined to its event loop.
final class UpstreamHTTP2Connection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame

    /// Streams assumed allowed until the server's first SETTINGS says otherwise (RFC 9113 recommends at least 100).
    static let assumedStreamLimit = 100
    /// The most streams one connection is given, whatever the server allows (more go on another connection).
    static let streamLimitCeiling = 1_000

    let hostKey: UpstreamHostKey
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    private let channel: any Channel
    private(set) var openStreams = 0
    private var streamLimit = UpstreamHTTP2Connection.assumedStreamLimit
    /// The GOAWAY's last stream id, once the server sent one: streams up to it finish, new ones go elsewhere.
    private var goAwayLastStreamID: HTTP2StreamID?
    private(set) var isOpen = true
    /// When the last stream ended, for closing connections idle too long to trust.
    private(set) var idleSince = NIODeadline.now()
    /// Called on the loop when the connection can take no new stream any more (GOAWAY) or closed.
    var onUnusable: ((UpstreamHTTP2Connection) -> Void)?
    /// Called on the loop when the connection closed.
    var onClosed: ((UpstreamHTTP2Connection) -> Void)?
    /// Called on the loop when its last open stream ended.
    var onIdle: ((UpstreamHTTP2Connection) -> Void)?

    init(hostKey: UpstreamHostKey, channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.hostKey = hostKey
        self.channel = channel
        self.multiplexer = multiplexer
    }

    /// Whether a new exchange may open a stream here now.
    var hasCapacity: Bool { isOpen && goAwayLastStreamID == nil && openStreams < streamLimit }

    /// Opens a stream for `exchange` and sends its request. An exchange that ends without its answer goes to
    /// `lost`, which decides how it fails; `unprocessed` says the server never acted on it (the stream could
    /// not be opened, or the server refused it: REFUSED_STREAM, or beyond its GOAWAY), so it may go again.
    func start(_ exchange: UpstreamExchange, lost: @escaping (UpstreamExchange, UpstreamFailure, _ unprocessed: Bool) -> Void) {
        openStreams += 1
        let handler = UpstreamHTTP2StreamHandler(hostKey: hostKey)
        // The stream ends once, whichever way NIO reports it (a stream that fails to open may also report
        // itself closed), so the count of open streams stays true.
        let stream = NIOLoopBoundBox((connection: self, handler: handler, hasEnded: false), eventLoop: channel.eventLoop)
        handler.onClosed = { _, lostExchange in
            stream.value.hasEnded = true
            let connection = stream.value.connection
            connection.streamEnded()
            guard let (exchange, failure) = lostExchange else { return }
            lost(exchange, failure, !exchange.hasHead && connection.wasRefusedUnprocessed(stream.value.handler))
        }
        let opened = channel.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: opened) { streamChannel in
            do {
                try streamChannel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                try streamChannel.pipeline.syncOperations.addHandler(stream.value.handler)
                return streamChannel.eventLoop.makeSucceededVoidFuture()
            } catch {
                return streamChannel.eventLoop.makeFailedFuture(error)
            }
        }
        opened.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                stream.value.handler.start(exchange)
            case .failure(let error):
                // No stream, so no request sent: another connection may take it.
                stream.value.handler.onClosed = nil
                if !stream.value.hasEnded {
                    stream.value.hasEnded = true
                    stream.value.connection.streamEnded()
                }
                lost(exchange, UpstreamConnectionHandler.classify(error), true)
            }
        }
    }

    func close() {
        guard isOpen else { return }
        channel.close(promise: nil)
    }

    /// Whether a stream that ended without an answer is known not to have been processed by the server.
    private func wasRefusedUnprocessed(_ handler: UpstreamConnectionHandler) -> Bool {
        guard let closed = handler.lastError as? NIOHTTP2Errors.StreamClosed else { return false }
        if closed.errorCode == .refusedStream { return true }
        // Streams above the GOAWAY's last stream id were never processed (RFC 9113 §6.8); those at or below
        // it were being answered, and their failure stands.
        return goAwayLastStreamID.map { closed.streamID > $0 } ?? false
    }

    private func streamEnded() {
        openStreams -= 1
        guard openStreams == 0 else { return }
        idleSince = .now()
        guard isOpen else { return }
        // Going away with nothing left to finish: its slot is better spent on a fresh connection.
        if goAwayLastStreamID != nil { return close() }
        onIdle?(self)
    }

    // MARK: Stream 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data).payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                streamLimit = max(0, min(setting.value, Self.streamLimitCeiling))
            }
        case .goAway(let lastStreamID, _, _):
            let isFirst = goAwayLastStreamID == nil
            goAwayLastStreamID = min(lastStreamID, goAwayLastStreamID ?? lastStreamID)
            if isFirst { onUnusable?(self) }
            if openStreams == 0 { context.close(promise: nil) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        onUnusable?(self)
        onUnusable = nil
        onIdle = nil
        if let onClosed {
            self.onClosed = nil
            onClosed(self)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A connection-level error: NIO has sent GOAWAY; the streams fail as the connection closes.
        context.close(promise: nil)
    }
}
