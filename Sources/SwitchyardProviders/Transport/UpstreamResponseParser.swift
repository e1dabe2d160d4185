public import NIOCore
public import SwitchyardCore

/// Reads an upstream's HTTP/1.x responses from the connection's bytes: the head straight into
/// ``UpstreamHead``, the body as slices of the bytes read.
///
/// Framing as RFC 9112 §6.3 has it: no body for an answer to HEAD or a 204 or 304; chunked when it is the
/// last transfer coding; else the connection's end when there is a Transfer-Encoding; else the
/// Content-Length; else the connection's end. Interim (1xx) heads are skipped. A response with both
/// Transfer-Encoding and Content-Length, or two lengths, is refused: a message that two readers could
/// frame two ways is a broken or hostile upstream. Replaces NIO's decoder (llhttp and its callbacks, a
/// String pair per field, then our own copy of the fields, each part boxed on its way up the pipeline).
struct UpstreamResponseParser {
    static let maxHeadBytes = 80 * 1024

    enum Part {
        case head(UpstreamHead, keepsAlive: Bool)
        case body(ByteBuffer)
        case end
    }

    private var state = HTTP1MessageState.start

    /// Whether a response has started and not ended.
    var isInsideResponse: Bool {
        if case .head(let scanned) = state { return scanned > 0 }
        return true
    }

    /// The next part of the response (to a HEAD request if `answersHEAD`); nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer, answersHEAD: Bool) throws(HTTP1SyntaxError) -> Part? {
        if case .head(let scanned) = state { return try nextHead(&buffer, scanned: scanned, answersHEAD: answersHEAD) }
        switch try state.nextBodyPart(&buffer) {
        case .bytes(let bytes)?: return .body(bytes)
        case .end?: return .end
        case nil: return nil
        }
    }

    /// The end a response is due without more bytes (its length read whole, or no body).
    mutating func endOfCompleteBody() -> Part? {
        state.takeEndOfCompleteBody() ? .end : nil
    }

    /// The connection closed: whether that ended the response in progress (a body delimited by the close);
    /// false if a response was cut short.
    mutating func endsAtClose() -> Bool {
        state.takeEndAtClose()
    }

    private mutating func nextHead(_ buffer: inout ByteBuffer, scanned: Int, answersHEAD: Bool) throws(HTTP1SyntaxError) -> Part? {
        var scanned = scanned
        while true {
            let end = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1SyntaxError) in try HTTP1Syntax.endOfHead(in: bytes, from: scanned) }
            guard let end else {
                guard buffer.readableBytes <= Self.maxHeadBytes else { throw HTTP1SyntaxError("response head too large") }
                state = .head(scanned: buffer.readableBytes)
                return nil
            }
            guard end <= Self.maxHeadBytes else { throw HTTP1SyntaxError("response head too large") }
            let head = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1SyntaxError) in
                try ResponseHeadReader(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
            }
            buffer.moveReaderIndex(forwardBy: end)
            state = .head(scanned: 0)
            scanned = 0
            let framing: HTTP1BodyReader.Framing
            switch head.status {
            case 101:
                // The gateway never asks to switch protocols.
                throw HTTP1SyntaxError("unrequested protocol switch")
            case 100..<200:
                continue  // interim (100 Continue, 103 Early Hints): the response is still to come
            case 204, 304:
                framing = .length(0)
            default:
                framing = answersHEAD ? .length(0) : try head.framing()
            }
            state = .body(HTTP1BodyReader(framing))
            // A body the close delimits leaves nothing to reuse.
            return .head(UpstreamHead(status: head.status, headers: head.fields), keepsAlive: head.keepsAlive && framing != .untilClose)
        }
    }
}

/// A response head's status line and fields (RFC 9112 §4, §5).
private struct ResponseHeadReader {
    var status: Int
    var fields = HeaderFields()
    var keepsAlive = true
    private var framingFields = HTTP1FramingFields()

    init(_ head: UnsafeRawBufferPointer) throws(HTTP1SyntaxError) {
        let lineFeed = UInt8(ascii: "\n")
        let statusLineEnd = HTTP1Syntax.index(of: lineFeed, in: head, from: 0)!
        let statusLine = UnsafeRawBufferPointer(rebasing: head[..<(statusLineEnd - 1)])
        // HTTP/1.x SP 3DIGIT [SP reason-phrase]
        guard statusLine.count >= 12, statusLine.starts(with: "HTTP/1.".utf8), statusLine[7] == UInt8(ascii: "0") || statusLine[7] == UInt8(ascii: "1"),
            statusLine[8] == 0x20, statusLine.count == 12 || statusLine[12] == 0x20
        else { throw HTTP1SyntaxError("malformed status line") }
        var status = 0
        for byte in statusLine[9..<12] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw HTTP1SyntaxError("malformed status code") }
            status = status * 10 + Int(byte &- UInt8(ascii: "0"))
        }
        guard status >= 100 else { throw HTTP1SyntaxError("malformed status code") }
        // reason-phrase: tabs, spaces, visible characters and obs-text; a CR inside would end the line for another reader.
        if statusLine.count > 13, !HTTP1Syntax.isFieldValue(UnsafeRawBufferPointer(rebasing: statusLine[13...])) {
            throw HTTP1SyntaxError("control byte in the reason phrase")
        }
        self.status = status
        let isHTTP10 = statusLine[7] == UInt8(ascii: "0")
        var closes = isHTTP10
        var position = statusLineEnd + 1
        // The last two bytes are the empty line's CRLF.
        while position < head.count - 2 {
            let newline = HTTP1Syntax.index(of: lineFeed, in: head, from: position)!
            let line = UnsafeRawBufferPointer(rebasing: head[position..<(newline - 1)])
            let (nameLength, valueRange) = try HTTP1Syntax.fieldLine(line)
            let name = UnsafeRawBufferPointer(rebasing: line[..<nameLength])
            let value = UnsafeRawBufferPointer(rebasing: line[valueRange])
            if try framingFields.read(name: name, value: value) {
                // Read for the framing; kept as a field too.
            } else if HTTP1Syntax.equalsCaseInsensitively(name, "connection") {
                HTTP1Syntax.forEachListElement(value) { token in
                    if HTTP1Syntax.equalsCaseInsensitively(token, "close") { closes = true }
                    if isHTTP10, HTTP1Syntax.equalsCaseInsensitively(token, "keep-alive") { closes = false }
                }
            }
            fields.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
            position = newline + 1
        }
        keepsAlive = !closes
    }

    func framing() throws(HTTP1SyntaxError) -> HTTP1BodyReader.Framing {
        if framingFields.hasTransferEncoding {
            if framingFields.contentLength != nil { throw HTTP1SyntaxError("both Content-Length and Transfer-Encoding") }
            return framingFields.endsChunked ? .chunked : .untilClose
        }
        return framingFields.contentLength.map(HTTP1BodyReader.Framing.length) ?? .untilClose
    }
}

/// The upstream answer's reading, reachable from the micro-benchmarks: `@_spi(Benchmarks) import SwitchyardProviders`.
@_spi(Benchmarks) public enum UpstreamHotPathProbes {
    /// Decodes a whole OpenAI SSE stream into canonical events, as a stream's reader does. (The decoder's
    /// generic entry points are emitted into the modules that use them under cross-module optimisation, so a
    /// client outside the package reaches them through here.)
    public static func decodeOpenAIStream(_ bytes: ByteBuffer) throws(UpstreamFailure) -> [ChatEvent] {
        var decoder = OpenAIStreamDecoder()
        var events: [ChatEvent] = []
        try decoder.decode(bytes, into: &events)
        events += try decoder.finish()
        return events
    }

    /// Reads one HTTP/1.1 answer (head and body) as an upstream connection does; returns the body's length.
    public static func readAnswer(_ bytes: ByteBuffer) throws -> Int {
        var parser = UpstreamResponseParser()
        var unread = bytes
        var bodyBytes = 0
        while let part = try parser.next(&unread, answersHEAD: false) ?? parser.endOfCompleteBody() {
            switch part {
            case .head: continue
            case .body(let body): bodyBytes += body.readableBytes
            case .end: return bodyBytes
            }
        }
        return bodyBytes
    }
}
