import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Turns NIO's HTTP/1 request parts into HTTPTypes ones and responses back, and answers HTTP/1.0 requests
/// in HTTP/1.0.
///
/// One handler for both jobs instead of NIO's `HTTP1ToHTTPServerCodec` behind a version handler: each
/// request and response part crosses one handler fewer, and a request path in origin form (`/v1/…`, what
/// clients send) is taken as it is. The library's conversion parses every path as a URL (Foundation's
/// RFC 3986 parser, ~1.5 % of a short request's CPU) to find the absolute form a proxy client sends, which
/// still goes through it here.
///
/// HTTP/1.0: the handlers behind see version-less requests (HTTPTypes), and would answer every request as
/// HTTP/1.1 on a kept-alive connection: a 1.0 client (a load balancer's health check, an old tool) then
/// waits for a close that never comes, and a stream reaches it in chunked framing it cannot read. So a 1.0
/// request is marked `Connection: close` on its way in (the connection closes once it is answered, and
/// nothing read after it is served), and its response leaves as HTTP/1.0, which NIO's encoder writes
/// without chunked framing, the end of the body being the connection's close.
final class HTTP1ServerCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The versions of the requests read and not yet answered, oldest first (answers leave in order).
    private var unanswered: [HTTPVersion] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            // Bounded: reads stop while a request waits behind another, so at most one read's worth of pipelined heads.
            unanswered.append(head.version)
            if head.version.major == 1, head.version.minor == 0 { head.headers.replaceOrAdd(name: "connection", value: "close") }
            do {
                context.fireChannelRead(wrapInboundOut(.head(try Self.request(head))))
            } catch {
                context.fireErrorCaught(error)
            }
        case .body(let body):
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            context.fireChannelRead(wrapInboundOut(.end(trailers.map { HTTPFields($0, splitCookie: false) })))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            var head = HTTPResponseHead(response)
            if !unanswered.isEmpty {
                let version = unanswered.removeFirst()
                if version.major == 1, version.minor == 0 {
                    head.version = version
                    head.headers.replaceOrAdd(name: "connection", value: "close")
                }
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body(let body):
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: promise)
        case .end(let trailers):
            context.write(wrapOutboundOut(.end(trailers.map(HTTPHeaders.init))), promise: promise)
        }
    }

    /// The request `head` describes, as the library's conversion makes it (which returns a path in origin
    /// form unchanged too).
    static func request(_ head: HTTPRequestHead) throws -> HTTPRequest {
        guard head.uri.utf8.first == UInt8(ascii: "/") else { return try HTTPRequest(head, secure: false, splitCookie: false) }
        return HTTPRequest(
            method: try HTTPRequest.Method(head.method), scheme: "http", authority: head.headers.first(name: "host"), path: head.uri,
            headerFields: HTTPFields(head.headers, splitCookie: false))
    }
}
