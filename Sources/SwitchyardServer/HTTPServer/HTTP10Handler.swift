import NIOCore
import NIOHTTP1

/// Answers HTTP/1.0 requests in HTTP/1.0 and closes the connection after them.
///
/// The handlers behind it see version-less requests (HTTPTypes), and would answer every request as
/// HTTP/1.1 on a kept-alive connection: a 1.0 client (a load balancer's health check, an old tool) then
/// waits for a close that never comes, and a stream reaches it in chunked framing it cannot read. So a
/// 1.0 request is marked `Connection: close` on its way in (the connection closes once it is answered,
/// and nothing read after it is served), and its response leaves as HTTP/1.0, which NIO's encoder
/// writes without chunked framing, the end of the body being the connection's close.
final class HTTP10Handler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The versions of the requests read and not yet answered, oldest first (answers leave in order).
    private var unanswered: [HTTPVersion] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        // Bounded: reads stop while a request waits behind another, so at most one read's worth of pipelined heads.
        unanswered.append(head.version)
        if head.version.major == 1, head.version.minor == 0 {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            return context.fireChannelRead(wrapInboundOut(.head(head)))
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), !unanswered.isEmpty else { return context.write(data, promise: promise) }
        let version = unanswered.removeFirst()
        guard version.major == 1, version.minor == 0 else { return context.write(data, promise: promise) }
        head.version = version
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
