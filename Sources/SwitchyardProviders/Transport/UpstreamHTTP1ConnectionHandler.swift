import NIOCore
import NIOHTTP1
import SwitchyardCore

/// The only handler of an upstream HTTP/1.1 connection (behind TLS, if any): writes each exchange's
/// request as bytes (``UpstreamRequestEncoder``) and reads its response from the bytes that come back
/// (``UpstreamResponseParser``), no codec handlers and no boxed parts in between.
final class UpstreamHTTP1ConnectionHandler: UpstreamConnectionHandler, ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    private var parser = UpstreamResponseParser()
    /// Bytes read and not parsed yet (nil when none).
    private var unread: ByteBuffer?
    private var answersHEAD = false

    override func write(_ exchange: UpstreamExchange, context: ChannelHandlerContext) {
        answersHEAD = exchange.requestHead.method == .HEAD
        UpstreamRequestEncoder.encode(exchange.requestHead, body: exchange.requestBody, allocator: context.channel.allocator) { bytes, isLast in
            if isLast {
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            } else {
                context.write(wrapOutboundOut(bytes), promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        noteRead()
        guard exchange != nil || parser.isInsideResponse else {
            // Nothing was asked: bytes now can only be a broken upstream's, and would be read as the next answer.
            return errorCaught(context: context, error: UpstreamFailure(kind: .unavailable, message: "upstream sent bytes nobody asked for"))
        }
        if unread == nil {
            unread = bytes
        } else {
            unread!.writeImmutableBuffer(bytes)
        }
        while isOpen {
            let part: UpstreamResponseParser.Part?
            if var bytes = unread {
                unread = nil  // `bytes` is then the only reference: slices and appends need no copy
                do {
                    part = try parser.next(&bytes, answersHEAD: answersHEAD)
                } catch {
                    // The connection closes; its exchange fails with this then (in channelInactive).
                    return errorCaught(context: context, error: UpstreamFailure(kind: .unavailable, message: "upstream sent a malformed HTTP response: \(error.reason)"))
                }
                if bytes.readableBytes > 0 { unread = bytes }
            } else {
                part = parser.endOfCompleteBody()
            }
            guard let part else { return }
            switch part {
            case .head(let head, let keepsAlive):
                receive(head: head, keepsAlive: keepsAlive)
            case .body(let bytes):
                receive(body: bytes)
            case .end:
                // Bytes past the answer belong to no request (requests are not pipelined): the connection is spent.
                let spent = unread != nil
                unread = nil
                receiveEnd(reusable: !spent)
                if spent { close() }
                return
            }
        }
    }

    override func channelInactive(context: ChannelHandlerContext) {
        // A body delimited by the close has ended; any other response in progress was cut short.
        if exchange != nil, parser.endsAtClose() {
            receiveEnd(reusable: false)
        }
        super.channelInactive(context: context)
    }
}
