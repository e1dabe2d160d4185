public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Bytes that are not the HTTP/1 a reader expects, and why.
public struct HTTP1SyntaxError: Error, Equatable, Sendable {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }
}

/// The pieces of HTTP/1 message syntax (RFC 9112) the gateway's request parser and its upstream response
/// parser share: finding a head's end, reading a field line, the token alphabet.
///
/// Strict where leniency lets two parsers read one stream differently: lines end in CRLF (a bare LF fails at
/// once), no obsolete line folding, no whitespace before a field's colon, no control bytes in values.
public enum HTTP1Syntax {
    /// The end of a head (just past its empty line) in `bytes`, or nil if it has not all arrived;
    /// `scanned` bytes were searched before.
    public static func endOfHead(in bytes: UnsafeRawBufferPointer, from scanned: Int) throws(HTTP1SyntaxError) -> Int? {
        var position = scanned
        while let newline = index(of: UInt8(ascii: "\n"), in: bytes, from: position) {
            guard newline >= 1, bytes[newline - 1] == 0x0D else { throw HTTP1SyntaxError("a line ends in LF without CR") }
            if newline >= 3, bytes[newline - 2] == 0x0A, bytes[newline - 3] == 0x0D { return newline + 1 }
            position = newline + 1
        }
        return nil
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5), without its line end: the name's length and
    /// where the value (trimmed) lies.
    public static func fieldLine(_ line: UnsafeRawBufferPointer) throws(HTTP1SyntaxError) -> (nameLength: Int, value: Range<Int>) {
        var index = 0
        while index < line.count, isTokenByte(line[index]) { index += 1 }
        guard index < line.count, line[index] == UInt8(ascii: ":") else {
            // Includes a line starting with whitespace: obsolete line folding is refused (RFC 9112 §5.2).
            throw HTTP1SyntaxError("malformed header field")
        }
        guard index > 0 else { throw HTTP1SyntaxError("empty header field name") }
        let nameLength = index
        index += 1
        while index < line.count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        let valueStart = index
        var valueEnd = line.count
        while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        // Control bytes (NUL, a bare CR, DEL) are never part of a value; obs-text (0x80 and up) is.
        guard isFieldValue(UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])) else {
            throw HTTP1SyntaxError("control byte in a header field value")
        }
        return (nameLength, valueStart..<valueEnd)
    }

    /// Bytes 0–63 (`!#$%&'*+-.` and digits) and 64–127 (letters and ``^_`|~``); a test checks them against the RFC's list.
    private static let tokenBitsLow: UInt64 = 0x03FF_6CFA_0000_0000
    private static let tokenBitsHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// tchar (RFC 9110 §5.6.2), as bits of the byte's value: a chain of comparisons cost more than the rest of
    /// a field's reading.
    @inline(__always)
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        byte < 64 ? (tokenBitsLow >> UInt64(byte)) & 1 == 1 : byte < 128 && (tokenBitsHigh >> UInt64(byte &- 64)) & 1 == 1
    }

    /// Whether `bytes` may be a field value as they are (RFC 9110 §5.5): visible characters, spaces and tabs,
    /// bytes of non-ASCII text; no other control character (a CR or LF would split the message). Eight bytes
    /// a step where no byte is below 0x20 or is DEL; a word with one is looked at byte by byte (tabs).
    public static func isFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            // A byte below 0x20 (its high bit clear), or equal to 0x7F, sets its high bit here.
            let below = (word &- ones &* 0x20) & ~word & highs
            let deleted = word ^ (ones &* 0x7F)
            let isDEL = (deleted &- ones) & ~deleted & highs
            if below | isDEL != 0 {
                for offset in index..<(index + 8) where !isFieldValueByte(bytes[offset]) { return false }
            }
            index += 8
        }
        while index < bytes.count {
            if !isFieldValueByte(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    public static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 ? byte != 0x7F : byte == 0x09
    }

    /// Calls `body` with each element of a comma-separated field value (RFC 9110 §5.6.1), its whitespace
    /// trimmed, empty elements skipped; no array is made.
    public static func forEachListElement(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start < value.count {
            var end = start
            while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
            var first = start
            var last = end
            while first < last, value[first] == 0x20 || value[first] == 0x09 { first += 1 }
            while last > first, value[last - 1] == 0x20 || value[last - 1] == 0x09 { last -= 1 }
            if last > first { body(UnsafeRawBufferPointer(rebasing: value[first..<last])) }
            start = end + 1
        }
    }

    /// Whether `bytes` spell `lowercase` in any case (ASCII letters only differ by 0x20).
    public static func equalsCaseInsensitively(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        var index = 0
        for byte in bytes {
            // Only letters fold: `| 0x20` alone would also take a CR (0x0D) for a hyphen (0x2D).
            let folded = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            if folded != lowercase.utf8Start[index] { return false }
            index += 1
        }
        return true
    }

    public static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + start, Int32(byte), bytes.count - start)
        else { return nil }
        return UnsafeRawPointer(found) - base
    }
}

/// The fields that frame a message's body (RFC 9112 §6), gathered across its field lines; each reader decides
/// from them as its side of the protocol says.
public struct HTTP1FramingFields: Sendable {
    public private(set) var contentLength: Int?
    public private(set) var hasTransferEncoding = false
    /// Whether the last transfer coding listed is chunked.
    public private(set) var endsChunked = false
    /// Whether a coding other than chunked is listed.
    public private(set) var hasOtherCoding = false
    /// Whether chunked is listed more than once (not a framing anyone sends, RFC 9112 §6.1).
    public private(set) var isChunkedTwice = false

    public init() {}

    /// Whether `name` is a framing field, read into these if so.
    public mutating func read(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(HTTP1SyntaxError) -> Bool {
        if HTTP1Syntax.equalsCaseInsensitively(name, "content-length") {
            try addContentLength(value)
            return true
        }
        if HTTP1Syntax.equalsCaseInsensitively(name, "transfer-encoding") {
            addTransferCodings(value)
            return true
        }
        return false
    }

    private mutating func addContentLength(_ value: UnsafeRawBufferPointer) throws(HTTP1SyntaxError) {
        // 1*DIGIT; 18 digits cannot overflow an Int, and no body the gateway takes or reads is that long.
        guard !value.isEmpty, value.count <= 18, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw HTTP1SyntaxError("malformed Content-Length")
        }
        let length = value.reduce(0) { $0 * 10 + Int($1 &- UInt8(ascii: "0")) }
        // Repeats of one length are harmless (RFC 9112 §6.3 item 5); two lengths are ambiguous.
        if let contentLength, contentLength != length { throw HTTP1SyntaxError("conflicting Content-Length fields") }
        contentLength = length
    }

    private mutating func addTransferCodings(_ value: UnsafeRawBufferPointer) {
        hasTransferEncoding = true
        HTTP1Syntax.forEachListElement(value) { coding in
            let isChunked = HTTP1Syntax.equalsCaseInsensitively(coding, "chunked")
            if isChunked, endsChunked || isChunkedTwice { isChunkedTwice = true }
            if !isChunked { hasOtherCoding = true }
            endsChunked = isChunked
        }
    }
}

/// Reads a message body as its framing delimits it, the bytes as slices of those read (no copy): a known
/// length, chunked (RFC 9112 §7.1: chunk extensions ignored, trailer fields read and dropped), or until the
/// connection closes. A chunk's size line and the trailer section are bounded.
public struct HTTP1BodyReader: Sendable {
    public enum Framing: Equatable, Sendable {
        case length(Int)
        case chunked
        /// A response without a length: its end is the connection's.
        case untilClose
    }

    public enum Part {
        case bytes(ByteBuffer)
        case end
    }

    public static let maxChunkLineBytes = 4 * 1024
    public static let maxTrailerBytes = 16 * 1024

    private enum State: Sendable {
        case fixed(remaining: Int)
        case untilClose
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        /// Trailer fields after the last chunk, up to the empty line; `read` bytes of them consumed.
        case trailers(read: Int)
        case ended
    }

    private var state: State

    public init(_ framing: Framing) {
        switch framing {
        case .length(let length): state = .fixed(remaining: length)
        case .chunked: state = .chunkSizeLine
        case .untilClose: state = .untilClose
        }
    }

    /// Whether the end is due without more bytes (a length read whole, or none).
    public var isComplete: Bool {
        switch state {
        case .fixed(0), .ended: true
        default: false
        }
    }

    /// The next part `buffer` holds, consuming its bytes; nil when more bytes are needed. After `.end`, nil.
    public mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1SyntaxError) -> Part? {
        switch state {
        case .fixed(let remaining):
            if remaining == 0 {
                state = .ended
                return .end
            }
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            state = .fixed(remaining: remaining - count)
            return .bytes(buffer.readSlice(length: count)!)
        case .untilClose:
            guard buffer.readableBytes > 0 else { return nil }
            return .bytes(buffer.readSlice(length: buffer.readableBytes)!)
        case .chunkSizeLine:
            guard let size = try readChunkSizeLine(&buffer) else { return nil }
            state = size == 0 ? .trailers(read: 0) : .chunkData(remaining: size)
            return try next(&buffer)
        case .chunkData(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            return .bytes(buffer.readSlice(length: count)!)
        case .chunkDataEnd:
            guard buffer.readableBytes >= 2 else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw HTTP1SyntaxError("a chunk's data does not end in CRLF") }
            state = .chunkSizeLine
            return try next(&buffer)
        case .trailers(let read):
            guard try skipTrailers(&buffer, read: read) else { return nil }
            state = .ended
            return .end
        case .ended:
            return nil
        }
    }

    /// The connection closed: the end of a body read until then, or nil if the body was cut short.
    public mutating func endAtClose() -> Part? {
        switch state {
        case .untilClose:
            state = .ended
            return .end
        default:
            return nil
        }
    }

    private func readChunkSizeLine(_ buffer: inout ByteBuffer) throws(HTTP1SyntaxError) -> Int? {
        let parsed: ChunkSizeLine? = try buffer.withUnsafeReadableBytes { bytes throws(HTTP1SyntaxError) in
            try ChunkSizeLine(bytes)
        }
        guard let parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: parsed.length)
        return parsed.size
    }

    /// Consumes trailer lines up to the empty line that ends the message; false if it has not arrived.
    private mutating func skipTrailers(_ buffer: inout ByteBuffer, read: Int) throws(HTTP1SyntaxError) -> Bool {
        var read = read
        while true {
            let line = buffer.withUnsafeReadableBytes { HTTP1Syntax.index(of: UInt8(ascii: "\n"), in: $0, from: 0) }
            guard let line else {
                guard read + buffer.readableBytes <= Self.maxTrailerBytes else { throw HTTP1SyntaxError("trailer section too large") }
                state = .trailers(read: read)
                return false
            }
            read += line + 1
            guard read <= Self.maxTrailerBytes else { throw HTTP1SyntaxError("trailer section too large") }
            try buffer.withUnsafeReadableBytes { bytes throws(HTTP1SyntaxError) in
                guard line >= 1, bytes[line - 1] == 0x0D else { throw HTTP1SyntaxError("a trailer line does not end in CRLF") }
                if line > 1 { _ = try HTTP1Syntax.fieldLine(UnsafeRawBufferPointer(rebasing: bytes[..<(line - 1)])) }
            }
            buffer.moveReaderIndex(forwardBy: line + 1)
            if line == 1 { return true }
        }
    }
}

/// Where a reader of HTTP/1 messages is: waiting for a head (`scanned` bytes of it searched for its end), or
/// reading a body. The request parser and the upstream response parser share it; each reads its own heads.
public enum HTTP1MessageState: Sendable {
    case head(scanned: Int)
    case body(HTTP1BodyReader)

    public static let start = HTTP1MessageState.head(scanned: 0)

    /// The next part of the body being read, back to waiting for a head after its end; nil when more bytes are
    /// needed (or no body is being read).
    public mutating func nextBodyPart(_ buffer: inout ByteBuffer) throws(HTTP1SyntaxError) -> HTTP1BodyReader.Part? {
        guard case .body(var body) = self else { return nil }
        self = .start  // the reader is uniquely held while it reads
        let part = try body.next(&buffer)
        if case .end? = part { return part }
        self = .body(body)
        return part
    }

    /// Whether the body being read has ended without needing more bytes (its length read whole, or none);
    /// if so, the state is back to waiting for a head.
    public mutating func takeEndOfCompleteBody() -> Bool {
        guard case .body(let body) = self, body.isComplete else { return false }
        self = .start
        return true
    }

    /// The connection closed: whether that ended the body being read (one delimited by the close).
    public mutating func takeEndAtClose() -> Bool {
        guard case .body(var body) = self, body.endAtClose() != nil else { return false }
        self = .start
        return true
    }
}

/// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1).
private struct ChunkSizeLine {
    var size: Int
    /// The line's length with its CRLF.
    var length: Int

    /// Nil if the line has not all arrived.
    init?(_ bytes: UnsafeRawBufferPointer) throws(HTTP1SyntaxError) {
        guard let newline = HTTP1Syntax.index(of: UInt8(ascii: "\n"), in: bytes, from: 0) else {
            guard bytes.count <= HTTP1BodyReader.maxChunkLineBytes else { throw HTTP1SyntaxError("chunk size line too long") }
            return nil
        }
        guard newline <= HTTP1BodyReader.maxChunkLineBytes else { throw HTTP1SyntaxError("chunk size line too long") }
        guard newline >= 1, bytes[newline - 1] == 0x0D else { throw HTTP1SyntaxError("a chunk size line does not end in CRLF") }
        let end = newline - 1
        var size = 0
        var index = 0
        while index < end, let digit = Self.hexValue(bytes[index]) {
            // 15 hex digits already exceed any body a gateway takes; the limit keeps the sum from overflowing.
            guard index < 15 else { throw HTTP1SyntaxError("chunk size too large") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw HTTP1SyntaxError("a chunk size is not hexadecimal") }
        // Chunk extensions are ignored, but read by their grammar (RFC 9112 §7.1.1) and more strictly, as llhttp
        // reads them: `;name` or `;name=value` (a token or a quoted string), whitespace only before a `;`.
        while index < end {
            while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            guard index < end, bytes[index] == UInt8(ascii: ";") else { throw HTTP1SyntaxError("malformed chunk extension") }
            index += 1
            let nameStart = index
            while index < end, HTTP1Syntax.isTokenByte(bytes[index]) { index += 1 }
            guard index > nameStart else { throw HTTP1SyntaxError("malformed chunk extension") }
            guard index < end, bytes[index] == UInt8(ascii: "=") else { continue }
            index += 1
            guard index < end else { throw HTTP1SyntaxError("malformed chunk extension") }
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < end {
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    if byte == UInt8(ascii: "\\") {
                        guard index < end, HTTP1Syntax.isFieldValueByte(bytes[index]) else { throw HTTP1SyntaxError("malformed chunk extension") }
                        index += 1
                    } else if !HTTP1Syntax.isFieldValueByte(byte) {
                        throw HTTP1SyntaxError("control byte in a chunk extension")
                    }
                }
                guard closed else { throw HTTP1SyntaxError("malformed chunk extension") }
            } else {
                let valueStart = index
                while index < end, HTTP1Syntax.isTokenByte(bytes[index]) { index += 1 }
                guard index > valueStart else { throw HTTP1SyntaxError("malformed chunk extension") }
            }
        }
        self.size = size
        self.length = newline + 1
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }
}
