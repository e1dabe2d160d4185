import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Writes an upstream HTTP/1.1 connection's requests: NIO's request encoder and outbound header validator
/// in one handler, the head checked and copied in one pass (``HTTPHeadWriter``) instead of checked by
/// one handler and written piece by piece by another.
///
/// What is checked is what NIO's validator checks, so that nothing a client or a config put in a header
/// can split the request: the method is a token, the target holds only URI characters, every field name
/// is a token and no value holds a control character (tab aside). A request that fails is not sent: its
/// write fails with NIO's `invalidHeaderToken`, also fired as an error for the connection's handler.
///
/// Framing as NIO's encoder frames it: a `Content-Length` wins over any `Transfer-Encoding`; without either,
/// a method that carries a body is chunked.
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    private var isChunked = false
    /// Whether the last head was refused: the rest of that request is dropped too.
    private var refusedRequest = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            guard let (buffer, isChunked) = Self.encode(head, allocator: context.channel.allocator) else {
                refusedRequest = true
                promise?.fail(HTTPParserError.invalidHeaderToken)
                context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
                return
            }
            refusedRequest = false
            self.isChunked = isChunked
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let body):
            guard !refusedRequest else { return promise?.fail(HTTPParserError.invalidHeaderToken) ?? () }
            guard isChunked else { return context.write(wrapOutboundOut(body), promise: promise) }
            guard body.readableBytes > 0 else { return promise?.succeed(()) ?? () }
            var prefix = context.channel.allocator.buffer(capacity: 18)
            prefix.writeString(String(body.readableBytes, radix: 16))
            prefix.writeStaticString("\r\n")
            context.write(wrapOutboundOut(.byteBuffer(prefix)), promise: nil)
            context.write(wrapOutboundOut(body), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(ByteBuffer(staticString: "\r\n"))), promise: promise)
        case .end(let trailers):
            guard !refusedRequest else { return promise?.fail(HTTPParserError.invalidHeaderToken) ?? () }
            guard isChunked else { return promise?.succeed(()) ?? () }
            let trailers = trailers ?? [:]
            var length = 5
            for (name, value) in trailers {
                guard Self.isToken(name), Self.isFieldValue(value) else { return promise?.fail(HTTPParserError.invalidHeaderToken) ?? () }
                length += HTTPHeadWriter.fieldLength(name: name, value: value)
            }
            var end = context.channel.allocator.buffer(capacity: length)
            end.writeHTTPHead(length: length) { end in
                end.append("0\r\n")
                for (name, value) in trailers { end.appendField(name: name, value: value) }
                end.append("\r\n")
            }
            context.write(wrapOutboundOut(.byteBuffer(end)), promise: promise)
        }
    }

    /// The head's bytes and whether its body is chunked; nil when something in it may not be sent.
    static func encode(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) -> (ByteBuffer, isChunked: Bool)? {
        let method = head.method.rawValue
        guard isToken(method), isRequestTarget(head.uri) else { return nil }
        var hasLength = false
        var chunkedFraming = false
        for (name, value) in head.headers {
            guard isToken(name), isFieldValue(value) else { return nil }
            if !hasLength, name.utf8.count == 14, name.caseInsensitiveEquals("content-length") { hasLength = true }
            if name.utf8.count == 17, name.caseInsensitiveEquals("transfer-encoding") { chunkedFraming = true }
        }
        let carriesBody: Bool
        switch head.method {
        case .POST, .PUT, .PATCH: carriesBody = true
        default: carriesBody = false
        }
        let isChunked = !hasLength && (chunkedFraming || carriesBody)
        var length = 64 + method.utf8.count + head.uri.utf8.count
        for (name, value) in head.headers { length += HTTPHeadWriter.fieldLength(name: name, value: value) }
        var buffer = allocator.buffer(capacity: length)
        buffer.writeHTTPHead(length: length) { writer in
            writer.append(text: method)
            writer.append(" ")
            writer.append(text: head.uri)
            writer.append(head.version.minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n")
            for (name, value) in head.headers {
                // The framing's own field replaces whatever the request said about it.
                if name.utf8.count == 17, name.caseInsensitiveEquals("transfer-encoding") { continue }
                writer.appendField(name: name, value: value)
            }
            if isChunked { writer.append("transfer-encoding: chunked\r\n") }
            writer.append("\r\n")
        }
        return (buffer, isChunked)
    }

    /// RFC 9110 §5.6.2: one or more `tchar`.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.withUTF8Bytes { $0.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                    UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                    UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                    true
                default: false
                }
            } }
    }

    /// RFC 9110 §5.5: visible characters, spaces and tabs, and bytes of non-ASCII text; no other control character.
    static func isFieldValue(_ text: String) -> Bool {
        text.withUTF8Bytes { $0.allSatisfy { $0 >= 0x20 ? $0 != 0x7F : $0 == 0x09 } }
    }

    /// A request target of URI characters only (RFC 3986's, and `%` escapes), as NIO's validator allows.
    static func isRequestTarget(_ text: String) -> Bool {
        !text.isEmpty
            && text.withUTF8Bytes { $0.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "/"),
                    UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "@"), UInt8(ascii: "!"),
                    UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
                    UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "%"):
                    true
                default: false
                }
            } }
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// An HTTP/1.1 upstream connection's codec: NIO's response parser, with ``UpstreamRequestEncoder``
    /// before it (the parser watches the requests written, to read an answer to HEAD as bodiless).
    func addUpstreamHTTP1Handlers() throws {
        try addHandler(UpstreamRequestEncoder())
        try addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError)))
    }
}
