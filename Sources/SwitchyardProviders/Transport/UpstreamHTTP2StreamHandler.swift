import NIOCore
import NIOHTTP1
import SwitchyardCore

/// The last handler of an upstream HTTP/2 stream, behind NIO's HTTP/2-to-HTTP/1 codec: writes the
/// exchange's request as parts, and hands the response's parts to the exchange.
final class UpstreamHTTP2StreamHandler: UpstreamConnectionHandler, ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    override func write(_ exchange: UpstreamExchange, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(exchange.requestHead)), promise: nil)
        if let body = exchange.requestBody, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        noteRead()
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Informational answers (100 Continue) are not the response.
            guard head.status.code >= 200 else { return }
            var headers = HeaderFields()
            headers.reserveCapacity(head.headers.count)
            for (name, value) in head.headers { headers.add(name, value) }
            receive(head: UpstreamHead(status: Int(head.status.code), headers: headers), keepsAlive: head.isKeepAlive)
        case .body(let bytes):
            receive(body: bytes)
        case .end:
            receiveEnd()
        }
    }
}
