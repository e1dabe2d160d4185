import HTTPTypes
import NIOCore
import SwitchyardCore

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
/// the only transfer coding (``HTTP1Syntax``). Everything a client controls is bounded: the head, a chunk's
/// size line, the trailer section (``HTTP1BodyReader``). Replaces NIO's llhttp-based decoder on the
/// gateway's listener, where its per-field callbacks, strings and part boxing cost ~5 % of a short request's
/// CPU.
struct HTTP1RequestParser {
    /// What RFC 9112 leaves to the server; NIO's decoder allows the same 80 KiB.
    static let maxHeadBytes = 80 * 1024

    enum Part {
        case head(HTTP1RequestHead)
        case body(ByteBuffer)
        case end
    }

    private var state = HTTP1MessageState.start

    /// Whether the next bytes start a new request (nothing of one is read yet).
    var isBetweenRequests: Bool {
        if case .head(let scanned) = state { return scanned == 0 }
        return false
    }

    /// Whether a request is partly read (its head or its body incomplete).
    func isInsideRequest(hasUnreadBytes: Bool) -> Bool {
        if case .head = state { return hasUnreadBytes }
        return true
    }

    /// The next part `buffer` holds, consuming its bytes; nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1RequestParseError) -> Part? {
        if case .head(let scanned) = state { return try nextHead(&buffer, scanned: scanned).map(Part.head) }
        do {
            switch try state.nextBodyPart(&buffer) {
            case .bytes(let bytes)?: return .body(bytes)
            case .end?: return .end
            case nil: return nil
            }
        } catch {
            throw .malformed(error.reason)
        }
    }

    /// The `.end` of a request whose body has been read whole (or that has none), which needs no more bytes.
    mutating func endOfCompleteBody() -> Part? {
        state.takeEndOfCompleteBody() ? .end : nil
    }

    private mutating func nextHead(_ buffer: inout ByteBuffer, scanned: Int) throws(HTTP1RequestParseError) -> HTTP1RequestHead? {
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        while scanned == 0, buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
            buffer.moveReaderIndex(forwardBy: 2)
        }
        let end: Int?
        do {
            end = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1SyntaxError) in try HTTP1Syntax.endOfHead(in: bytes, from: scanned) }
        } catch {
            throw .malformed(error.reason)
        }
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
        case .none: state = .body(HTTP1BodyReader(.length(0)))
        case .length(let length): state = .body(HTTP1BodyReader(.length(length)))
        case .chunked: state = .body(HTTP1BodyReader(.chunked))
        }
        return head
    }
}
