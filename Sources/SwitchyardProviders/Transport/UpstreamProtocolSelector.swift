import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOTLS
import SwitchyardCore

/// The last handler of a new TLS upstream connection until its handshake ends: it then sets the connection
/// up for the protocol ALPN chose (HTTP/2, or HTTP/1.1 when the server chose it or chose nothing) and
/// removes itself. A handshake that fails (an untrusted certificate, the wrong host name) fails `selected`
/// with what went wrong; no request has been written by then.
final class UpstreamProtocolSelector: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    enum Selected {
        case http1(UpstreamConnectionHandler)
        case http2(UpstreamHTTP2Connection)
    }

    /// How much of one stream's answer the server may send ahead of the reader. HTTP/2's default (64 KiB)
    /// caps a large answer at 64 KiB per round trip; more than this would let a stream whose client reads
    /// slowly hold that much (on top of the exchange's own buffer) before the server must wait.
    static let streamWindow = 256 * 1024

    static let connectionConfiguration: NIOHTTP2Handler.ConnectionConfiguration = {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = nioDefaultSettings + [
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            HTTP2Setting(parameter: .enablePush, value: 0),
        ]
        // The connection's window is given back as data arrives (each stream's window is the backpressure),
        // so it only needs room for many streams' data in flight at once.
        configuration.targetWindowSize = 16 * streamWindow
        return configuration
    }()

    static let streamConfiguration: NIOHTTP2Handler.StreamConfiguration = {
        var configuration = NIOHTTP2Handler.StreamConfiguration()
        configuration.targetWindowSize = streamWindow
        return configuration
    }()

    private let hostKey: UpstreamHostKey
    private let selected: EventLoopPromise<Selected>
    private var lastError: (any Error)?
    private var isDone = false

    init(hostKey: UpstreamHostKey, selected: EventLoopPromise<Selected>) {
        self.hostKey = hostKey
        self.selected = selected
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event, !isDone else {
            return context.fireUserInboundEventTriggered(event)
        }
        isDone = true
        do {
            let pipeline = context.pipeline.syncOperations
            if negotiated == "h2" {
                let multiplexer = try pipeline.configureHTTP2Pipeline(
                    mode: .client, connectionConfiguration: Self.connectionConfiguration, streamConfiguration: Self.streamConfiguration,
                    // Servers do not open streams to clients here (push is off); any that tries is refused.
                    inboundStreamInitializer: { channel in channel.close() })
                let connection = UpstreamHTTP2Connection(hostKey: hostKey, channel: context.channel, multiplexer: multiplexer)
                try pipeline.addHandler(connection)
                pipeline.removeHandler(context: context, promise: nil)
                selected.succeed(.http2(connection))
            } else {
                let handler = UpstreamHTTP1ConnectionHandler(hostKey: hostKey)
                try pipeline.addHandler(handler)
                pipeline.removeHandler(context: context, promise: nil)
                selected.succeed(.http1(handler))
            }
        } catch {
            selected.fail(UpstreamConnectionHandler.classify(error))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if lastError == nil { lastError = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isDone {
            isDone = true
            selected.fail(lastError.map(UpstreamConnectionHandler.classify) ?? UpstreamConnectionHandler.closedFailure)
        }
        context.fireChannelInactive()
    }
}
