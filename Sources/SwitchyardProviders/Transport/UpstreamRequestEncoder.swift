import NIOCore
import NIOHTTP1
import SwitchyardCore

/// An upstream HTTP/1.1 connection's requests as bytes: what NIO's request encoder wrote, the head copied in
/// one pass (``HTTPHeadWriter``) instead of written piece by piece.
///
/// The head is not checked here: ``EventLoopUpstreamTransport`` refuses a request that fails
/// ``isSendable(_:)`` before it takes a connection (for HTTP/2 too), so that what the gateway or a client
/// put in a header never counts against the provider.
///
/// Framing as NIO's encoder frames it: a `Content-Length` wins over any `Transfer-Encoding`; without either,
/// a method that carries a body is chunked.
enum UpstreamRequestEncoder {
    /// Hands `emit` the bytes of a whole request, in order (the last one flagged): the head, then the body
    /// framed as the head says.
    static func encode(
        _ head: HTTPRequestHead, body: ByteBuffer?, allocator: ByteBufferAllocator, _ emit: (ByteBuffer, _ isLast: Bool) -> Void
    ) {
        var (bytes, isChunked) = encode(head, allocator: allocator)
        guard let body, body.readableBytes > 0 else {
            if isChunked { bytes.writeStaticString("0\r\n\r\n") }
            return emit(bytes, true)
        }
        if isChunked {
            bytes.writeString(String(body.readableBytes, radix: 16))
            bytes.writeStaticString("\r\n")
            emit(bytes, false)
            emit(body, false)
            emit(ByteBuffer(staticString: "\r\n0\r\n\r\n"), true)
        } else {
            emit(bytes, false)
            emit(body, true)
        }
    }

    /// The head's bytes and whether its body is chunked.
    static func encode(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) -> (ByteBuffer, isChunked: Bool) {
        let method = head.method.rawValue
        var hasLength = false
        var chunkedFraming = false
        for (name, _) in head.headers {
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

    /// Whether `head` can go on the wire without splitting the request, by the checks NIO's outbound
    /// validator made: the method and every field name are tokens, the target holds only URI characters,
    /// and no value holds a control character but tab.
    static func isSendable(_ head: HTTPRequestHead) -> Bool {
        guard consists(of: head.method.rawValue, only: HTTP1Syntax.isTokenByte), consists(of: head.uri, only: isTargetByte) else { return false }
        return head.headers.allSatisfy { name, value in
            consists(of: name, only: HTTP1Syntax.isTokenByte) && value.withUTF8Bytes { HTTP1Syntax.isFieldValue(UnsafeRawBufferPointer($0)) }
        }
    }

    private static func consists(of text: String, only isAllowed: (UInt8) -> Bool) -> Bool {
        !text.isEmpty && text.withUTF8Bytes { $0.allSatisfy(isAllowed) }
    }

    /// RFC 3986's characters and `%` (letters, digits, `-._~:/?#[]@!$&'()*+,;=`), as NIO's validator allows in a
    /// request target: bytes 0–63 and 64–127 as bits. A test checks them against the list.
    private static let targetBitsLow: UInt64 = 0xAFFF_FFFA_0000_0000
    private static let targetBitsHigh: UInt64 = 0x47FF_FFFE_AFFF_FFFF

    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte < 64 ? (targetBitsLow >> UInt64(byte)) & 1 == 1 : byte < 128 && (targetBitsHigh >> UInt64(byte &- 64)) & 1 == 1
    }
}
