import HTTPTypes
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// How a response's body goes on the wire, decided by its head.
enum HTTP1ResponseFraming {
    /// Content-Length says where it ends, or the response has no body (1xx, 204, 304, an answer to HEAD).
    case delimited
    /// HTTP/1.1 chunks, ended by the zero-length chunk.
    case chunked
    /// HTTP/1.0 without a length: the body ends with the connection.
    case untilClose

    /// Writes `response`'s head (status line, fields, framing field) into one buffer, and says how its
    /// body is framed: what NIO's `HTTPResponseEncoder` did behind a conversion of every field into NIO's
    /// header type, in one pass. Field names and values come from HTTPTypes, which checked them (or made them
    /// legal) when they were set, so none can break the head.
    ///
    /// A response of unknown length is chunked in HTTP/1.1 and delimited by the close in HTTP/1.0; a
    /// `Transfer-Encoding` the handlers set is replaced by the framing's own.
    ///
    /// `date` is the head's `Date` field, in place of any the handlers set. Fields are told apart by the
    /// length of their name first: HTTPTypes' lookups compare whole names (and its subscript joins repeated
    /// values into a new string), several thousand instructions per head.
    static func head(
        of response: HTTPResponse, date: String, http10: Bool, closes: Bool, omitsBody: Bool, allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, framing: HTTP1ResponseFraming) {
        let status = response.status
        let closes = closes && status.kind != .informational
        let framing: HTTP1ResponseFraming
        if omitsBody || status.kind == .informational || status.code == 204 || status.code == 304
            || response.headerFields.contains(where: { $0.name.is(.contentLength) })
        {
            framing = .delimited
        } else {
            framing = http10 ? .untilClose : .chunked
        }
        // A status made from its code alone has no phrase: the standard one, as NIO's conversion wrote.
        let phrase = status.reasonPhrase.isEmpty ? HTTPResponseStatus(statusCode: status.code).reasonPhrase : status.reasonPhrase
        var length = 64 + phrase.utf8.count + HTTPHeadWriter.fieldLength(name: "Date", value: date)
        for field in response.headerFields { length += HTTPHeadWriter.fieldLength(name: field.name.rawName, value: field.value) }
        var buffer = allocator.buffer(capacity: length)
        buffer.writeHTTPHead(length: length) { head in
            head.append(http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
            head.append(text: String(status.code))
            head.append(" ")
            head.append(text: phrase)
            head.append("\r\n")
            for field in response.headerFields {
                let name = field.name
                if name.is(.transferEncoding) || name.is(.date) || (closes && name.is(.connection)) { continue }
                head.appendField(name: name.rawName, value: field.value)
            }
            head.appendField(name: "Date", value: date)
            if closes { head.append("connection: close\r\n") }
            if case .chunked = framing, status.kind != .informational { head.append("transfer-encoding: chunked\r\n") }
            head.append("\r\n")
        }
        return (buffer, framing)
    }

    /// Chunks at most this long are copied into one buffer with their framing; longer ones are written as they are.
    static let largestCopiedChunk = 8 * 1024

    /// Writes one part of the body as the framing wants it, the promise on its last write.
    func writeBody(_ body: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard case .chunked = self else { return context.write(NIOAny(body), promise: promise) }
        let length = body.readableBytes
        // A zero-length chunk would end the body.
        guard length > 0 else {
            promise?.succeed(())
            return
        }
        let hexLength = String(length, radix: 16)
        if length <= Self.largestCopiedChunk {
            var framed = context.channel.allocator.buffer(capacity: hexLength.utf8.count + length + 4)
            framed.writeString(hexLength)
            framed.writeStaticString("\r\n")
            framed.writeImmutableBuffer(body)
            framed.writeStaticString("\r\n")
            context.write(NIOAny(framed), promise: promise)
        } else {
            var prefix = context.channel.allocator.buffer(capacity: hexLength.utf8.count + 2)
            prefix.writeString(hexLength)
            prefix.writeStaticString("\r\n")
            context.write(NIOAny(prefix), promise: nil)
            context.write(NIOAny(body), promise: nil)
            context.write(NIOAny(ByteBuffer(staticString: "\r\n")), promise: promise)
        }
    }

    /// Ends the body: the last chunk (with any trailers) when chunked, nothing otherwise.
    func writeEnd(trailers: HTTPFields?, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard case .chunked = self else {
            promise?.succeed(())
            return
        }
        guard let trailers, !trailers.isEmpty else {
            return context.write(NIOAny(ByteBuffer(staticString: "0\r\n\r\n")), promise: promise)
        }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeStaticString("0\r\n")
        for field in trailers {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        context.write(NIOAny(buffer), promise: promise)
    }

    /// The interim answer to a request that expects it before sending its body (RFC 9110 §10.1.1).
    static let `continue` = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")

    /// The answer to bytes that are not a readable request, before the connection closes.
    static func refusal(_ status: HTTPResponse.Status, date: String) -> ByteBuffer {
        ByteBuffer(string: "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-length: 0\r\nconnection: close\r\ndate: \(date)\r\n\r\n")
    }
}
