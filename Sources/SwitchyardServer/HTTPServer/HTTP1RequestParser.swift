import HTTPTypes
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// How a request's body is delimited (RFC 9112 §6.3).
enum RequestBodyFraming: Equatable, Sendable {
    case none
    case length(Int)
    case chunked
}

/// A request head as it came off the wire, its fields already checked against RFC 9110's grammar.
struct HTTP1RequestHead {
    var method: HTTPRequest.Method
    /// The request target exactly as sent (origin form for what clients send to a gateway).
    var target: String
    /// The first Host field's value.
    var authority: String?
    var isHTTP10: Bool
    var fields: HTTPFields
    var framing: RequestBodyFraming
}

/// Why a request could not be read, with the status it is refused with.
struct HTTP1RequestParseError: Error, Equatable {
    enum Kind: Equatable {
        /// 400: the bytes are not an HTTP/1 request (or an ambiguous one: Content-Length with chunked, two lengths).
        case malformed
        /// 431: the request line and fields together exceed ``HTTP1RequestParser/maxHeadBytes``.
        case headTooLarge
        /// 501: a transfer coding other than chunked.
        case unsupportedTransferCoding
        /// 505: a well-formed version other than 1.0 and 1.1.
        case unsupportedVersion
    }

    var kind: Kind
    var reason: String

    static func malformed(_ reason: String) -> Self { Self(kind: .malformed, reason: reason) }

    var status: HTTPResponse.Status {
        switch kind {
        case .malformed: .badRequest
        case .headTooLarge: .init(code: 431, reasonPhrase: "Request Header Fields Too Large")
        case .unsupportedTransferCoding: .notImplemented
        case .unsupportedVersion: .init(code: 505, reasonPhrase: "HTTP Version Not Supported")
        }
    }
}

/// Reads HTTP/1.0 and 1.1 requests from a connection's bytes, one part at a time, the body as slices of the
/// bytes read (no copy).
///
/// Strict where leniency lets two parsers read one stream differently (request smuggling): lines end in
/// CRLF, no folded fields, no whitespace before a field's colon, no control bytes in values, one
/// Content-Length (or repeats of the same one), never both Content-Length and Transfer-Encoding, chunked as
/// the only transfer coding. Everything a client controls is bounded: the head, a chunk's size line, the
/// trailer section. Replaces NIO's llhttp-based decoder on the gateway's listener, where its per-field
/// callbacks, strings and part boxing cost about a tenth of a short request's CPU.
struct HTTP1RequestParser {
    /// What RFC 9112 leaves to the server; NIO's decoder allows the same 80 KiB.
    static let maxHeadBytes = 80 * 1024
    /// A chunk's size line with its extensions.
    static let maxChunkLineBytes = 4 * 1024
    static let maxTrailerBytes = 16 * 1024

    enum Part {
        case head(HTTP1RequestHead)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        /// Waiting for a head; `scanned` bytes are known to hold no end of head.
        case head(scanned: Int)
        case fixedBody(remaining: Int)
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        /// Trailer fields after the last chunk, up to the empty line; `read` bytes of them consumed.
        case trailers(read: Int)
    }

    private var state = State.head(scanned: 0)

    /// Whether the next bytes start a new request (nothing of one is read yet).
    var isBetweenRequests: Bool {
        if case .head(let scanned) = state { return scanned == 0 }
        return false
    }

    /// Whether a request is partly read (its head or its body incomplete).
    func isInsideRequest(unread buffer: ByteBuffer) -> Bool {
        if case .head = state { return buffer.readableBytes > 0 }
        return true
    }

    /// The next part `buffer` holds, consuming its bytes; nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1RequestParseError) -> Part? {
        switch state {
        case .head(let scanned):
            return try nextHead(&buffer, scanned: scanned).map(Part.head)
        case .fixedBody(let remaining):
            if remaining == 0 {
                state = .head(scanned: 0)
                return .end
            }
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            state = .fixedBody(remaining: remaining - count)
            return .body(buffer.readSlice(length: count)!)
        case .chunkSizeLine:
            guard let size = try readChunkSizeLine(&buffer) else { return nil }
            state = size == 0 ? .trailers(read: 0) : .chunkData(remaining: size)
            return try next(&buffer)
        case .chunkData(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            let slice = buffer.readSlice(length: count)!
            state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            return .body(slice)
        case .chunkDataEnd:
            guard buffer.readableBytes >= 2 else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .malformed("a chunk's data does not end in CRLF") }
            state = .chunkSizeLine
            return try next(&buffer)
        case .trailers(let read):
            guard try skipTrailers(&buffer, read: read) else { return nil }
            state = .head(scanned: 0)
            return .end
        }
    }

    /// The `.end` of a request whose body has been read whole (or that has none), which needs no more bytes.
    mutating func endOfCompleteBody() -> Part? {
        guard case .fixedBody(0) = state else { return nil }
        state = .head(scanned: 0)
        return .end
    }

    private mutating func nextHead(_ buffer: inout ByteBuffer, scanned: Int) throws(HTTP1RequestParseError) -> HTTP1RequestHead? {
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        while scanned == 0, buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
            buffer.moveReaderIndex(forwardBy: 2)
        }
        let end: Int? = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1RequestParseError) in try Self.endOfHead(in: bytes, from: scanned) }
        guard let end else {
            guard buffer.readableBytes <= Self.maxHeadBytes else { throw HTTP1RequestParseError(kind: .headTooLarge, reason: "request head too large") }
            // A lone CR may start an empty line still to be skipped: that check needs the head unscanned.
            state = .head(scanned: buffer.readableBytes < 2 ? 0 : buffer.readableBytes)
            return nil
        }
        guard end <= Self.maxHeadBytes else { throw HTTP1RequestParseError(kind: .headTooLarge, reason: "request head too large") }
        let head = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1RequestParseError) in
            try HTTP1HeadReader.request(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
        }
        buffer.moveReaderIndex(forwardBy: end)
        switch head.framing {
        case .none, .length(0): state = .fixedBody(remaining: 0)
        case .length(let length): state = .fixedBody(remaining: length)
        case .chunked: state = .chunkSizeLine
        }
        return head
    }

    /// The end of the head (just past its empty line), or nil if it has not all arrived; `scanned` bytes were
    /// looked at before. A line feed without its carriage return fails at once, not at the size limit.
    private static func endOfHead(in bytes: UnsafeRawBufferPointer, from scanned: Int) throws(HTTP1RequestParseError) -> Int? {
        var index = scanned
        while let newline = memchrIndex(UInt8(ascii: "\n"), in: bytes, from: index) {
            guard newline >= 1, bytes[newline - 1] == 0x0D else { throw .malformed("a line ends in LF without CR") }
            if newline >= 3, bytes[newline - 2] == 0x0A, bytes[newline - 3] == 0x0D { return newline + 1 }
            index = newline + 1
        }
        return nil
    }

    private mutating func readChunkSizeLine(_ buffer: inout ByteBuffer) throws(HTTP1RequestParseError) -> Int? {
        let parsed: (size: Int, length: Int)? = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1RequestParseError) in
            guard let newline = memchrIndex(UInt8(ascii: "\n"), in: bytes, from: 0) else {
                guard bytes.count <= Self.maxChunkLineBytes else { throw .malformed("chunk size line too long") }
                return nil
            }
            guard newline <= Self.maxChunkLineBytes else { throw .malformed("chunk size line too long") }
            guard newline >= 1, bytes[newline - 1] == 0x0D else { throw .malformed("a chunk size line does not end in CRLF") }
            var size = 0
            var index = 0
            while index < newline - 1, let digit = hexValue(bytes[index]) {
                // 15 hex digits already exceed any body a gateway takes; the limit keeps the sum from overflowing.
                guard index < 15 else { throw .malformed("chunk size too large") }
                size = size << 4 | digit
                index += 1
            }
            guard index > 0 else { throw .malformed("a chunk size is not hexadecimal") }
            // Chunk extensions (RFC 9112 §7.1.1) are ignored, but must be introduced by a semicolon and not
            // hide control bytes.
            while index < newline - 1, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            if index < newline - 1, bytes[index] != UInt8(ascii: ";") { throw .malformed("a chunk size is not hexadecimal") }
            while index < newline - 1 {
                let byte = bytes[index]
                guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else { throw .malformed("control byte in a chunk extension") }
                index += 1
            }
            return (size, newline + 1)
        }
        guard let parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: parsed.length)
        return parsed.size
    }

    /// Consumes trailer lines up to the empty line that ends the message; false if it has not arrived.
    private mutating func skipTrailers(_ buffer: inout ByteBuffer, read: Int) throws(HTTP1RequestParseError) -> Bool {
        var read = read
        while true {
            let line: Int? = buffer.withUnsafeReadableBytes { memchrIndex(UInt8(ascii: "\n"), in: $0, from: 0) }
            guard let line else {
                guard read + buffer.readableBytes <= Self.maxTrailerBytes else { throw .malformed("trailer section too large") }
                state = .trailers(read: read)
                return false
            }
            read += line + 1
            guard read <= Self.maxTrailerBytes else { throw .malformed("trailer section too large") }
            let isLast = line == 1
            try buffer.withUnsafeReadableBytes { bytes throws(HTTP1RequestParseError) in
                guard line >= 1, bytes[line - 1] == 0x0D else { throw .malformed("a trailer line does not end in CRLF") }
                if line > 1 { _ = try HTTP1HeadReader.fieldLine(UnsafeRawBufferPointer(rebasing: bytes[..<(line - 1)])) }
            }
            buffer.moveReaderIndex(forwardBy: line + 1)
            if isLast { return true }
        }
    }
}

func memchrIndex(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
    guard start < bytes.count, let base = bytes.baseAddress,
        let found = memchr(base + start, Int32(byte), bytes.count - start)
    else { return nil }
    return UnsafeRawPointer(found) - base
}

private func hexValue(_ byte: UInt8) -> Int? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte &- UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte &- UInt8(ascii: "a") &+ 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte &- UInt8(ascii: "A") &+ 10)
    default: nil
    }
}
