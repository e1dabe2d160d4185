import HTTPTypes
import SwitchyardCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// Reads a whole HTTP/1 request head (request line, field lines, the empty line) from its bytes, which
/// ``HTTP1RequestParser`` found and checked to end every line in CRLF.
enum HTTP1HeadReader {
    private static let lineFeed = UInt8(ascii: "\n")

    static func request(_ head: UnsafeRawBufferPointer) throws(HTTP1RequestParseError) -> HTTP1RequestHead {
        let requestLineEnd = HTTP1Syntax.index(of: lineFeed, in: head, from: 0)!
        let (method, target, isHTTP10) = try requestLine(UnsafeRawBufferPointer(rebasing: head[..<(requestLineEnd - 1)]))
        var fields = HTTPFields()
        fields.reserveCapacity(8)
        var framing = FramingFields()
        var authority: String?
        var position = requestLineEnd + 1
        // The last two bytes are the empty line's CRLF.
        while position < head.count - 2 {
            let newline = HTTP1Syntax.index(of: lineFeed, in: head, from: position)!
            let line = UnsafeRawBufferPointer(rebasing: head[position..<(newline - 1)])
            let (nameLength, valueRange): (Int, Range<Int>)
            do {
                (nameLength, valueRange) = try HTTP1Syntax.fieldLine(line)
            } catch {
                throw .malformed(error.reason)
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: line[..<nameLength])
            let valueBytes = UnsafeRawBufferPointer(rebasing: line[valueRange])
            let name = KnownFieldNames.name(nameBytes) ?? HTTPField.Name(String(decoding: nameBytes, as: UTF8.self))!
            // The first Host is the request's authority, not one of its fields (as NIO's HTTPTypes conversion has it).
            if authority == nil, name.is(KnownFieldNames.host) {
                authority = String(decoding: valueBytes, as: UTF8.self)
                position = newline + 1
                continue
            }
            if name.is(.contentLength) {
                try framing.addContentLength(valueBytes)
            } else if name.is(.transferEncoding) {
                try framing.addTransferCodings(valueBytes)
            }
            // Values were checked for control bytes and trimmed above, so HTTPTypes' check passes them as they
            // are. (Its byte initializers validate through an unspecialised generic path, several times slower.)
            fields.append(HTTPField(name: name, value: String(decoding: valueBytes, as: UTF8.self)))
            position = newline + 1
        }
        return HTTP1RequestHead(
            method: method, target: target, authority: authority, isHTTP10: isHTTP10, fields: fields, framing: try framing.framing(isHTTP10: isHTTP10))
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3).
    private static func requestLine(_ line: UnsafeRawBufferPointer) throws(HTTP1RequestParseError) -> (HTTPRequest.Method, String, Bool) {
        var index = 0
        while index < line.count, HTTP1Syntax.isTokenByte(line[index]) { index += 1 }
        guard index > 0, index < line.count, line[index] == 0x20 else { throw .malformed("malformed request method") }
        let methodBytes = UnsafeRawBufferPointer(rebasing: line[..<index])
        let method = knownMethod(methodBytes) ?? HTTPRequest.Method(String(decoding: methodBytes, as: UTF8.self))!
        index += 1
        let targetStart = index
        // Visible ASCII only: a client percent-encodes anything else (RFC 3986).
        while index < line.count, line[index] > 0x20, line[index] < 0x7F { index += 1 }
        guard index > targetStart, index < line.count, line[index] == 0x20 else { throw .malformed("malformed request target") }
        let targetBytes = UnsafeRawBufferPointer(rebasing: line[targetStart..<index])
        // RFC 9112 §3.2: origin form ("/…"), absolute form ("scheme://…"), "*", or for CONNECT an authority.
        guard targetBytes[0] == UInt8(ascii: "/") || isAbsoluteForm(targetBytes) || (targetBytes.count == 1 && targetBytes[0] == UInt8(ascii: "*"))
            || method == .connect
        else { throw .malformed("malformed request target") }
        let target = String(decoding: targetBytes, as: UTF8.self)
        let version = UnsafeRawBufferPointer(rebasing: line[(index + 1)...])
        guard version.count == 8, version.starts(with: "HTTP/".utf8), version[6] == UInt8(ascii: "."),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(version[5]), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(version[7])
        else { throw .malformed("malformed HTTP version") }
        guard version[5] == UInt8(ascii: "1"), version[7] <= UInt8(ascii: "1") else {
            throw HTTP1RequestParseError(kind: .unsupportedVersion, reason: "HTTP version not supported")
        }
        return (method, target, version[7] == UInt8(ascii: "0"))
    }

    /// `scheme "://"`, the scheme a letter then letters, digits, `+`, `-` or `.` (RFC 3986 §3.1).
    private static func isAbsoluteForm(_ target: UnsafeRawBufferPointer) -> Bool {
        guard let first = target.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first | 0x20) else { return false }
        var index = 1
        while index < target.count {
            let byte = target[index]
            if byte == UInt8(ascii: ":") {
                return index + 2 < target.count && target[index + 1] == UInt8(ascii: "/") && target[index + 2] == UInt8(ascii: "/")
            }
            let isSchemeByte = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            guard isSchemeByte else { return false }
            index += 1
        }
        return false
    }

    private static func knownMethod(_ bytes: UnsafeRawBufferPointer) -> HTTPRequest.Method? {
        switch bytes.count {
        case 3: bytes.elementsEqual("GET".utf8) ? .get : bytes.elementsEqual("PUT".utf8) ? .put : nil
        case 4: bytes.elementsEqual("POST".utf8) ? .post : bytes.elementsEqual("HEAD".utf8) ? .head : nil
        case 6: bytes.elementsEqual("DELETE".utf8) ? .delete : nil
        case 7: bytes.elementsEqual("OPTIONS".utf8) ? .options : nil
        default: nil
        }
    }
}

/// The fields that frame a request's body, gathered across field lines (RFC 9112 §6).
private struct FramingFields {
    private var contentLength: Int?
    private var sawTransferEncoding = false
    /// Whether the transfer codings so far end in chunked.
    private var endsChunked = false

    mutating func addContentLength(_ value: UnsafeRawBufferPointer) throws(HTTP1RequestParseError) {
        // 1*DIGIT; 18 digits cannot overflow an Int, and no body the gateway takes is that long.
        guard !value.isEmpty, value.count <= 18, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw .malformed("malformed Content-Length")
        }
        let length = value.reduce(0) { $0 * 10 + Int($1 &- UInt8(ascii: "0")) }
        // Repeats of one length are harmless (RFC 9112 §6.3 item 5); two lengths are ambiguous.
        if let contentLength, contentLength != length { throw .malformed("conflicting Content-Length fields") }
        contentLength = length
    }

    mutating func addTransferCodings(_ value: UnsafeRawBufferPointer) throws(HTTP1RequestParseError) {
        sawTransferEncoding = true
        for element in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let coding = element.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            if coding.isEmpty { continue }  // an empty list element (RFC 9110 §5.6.1)
            let isChunked = coding.count == 7 && zip(coding, "chunked".utf8).allSatisfy { $0 | 0x20 == $1 }
            guard isChunked else {
                throw HTTP1RequestParseError(kind: .unsupportedTransferCoding, reason: "transfer coding not supported (only chunked)")
            }
            // Chunked applied twice is not a framing anyone sends (RFC 9112 §6.1).
            if endsChunked { throw .malformed("chunked transfer coding applied twice") }
            endsChunked = true
        }
    }

    func framing(isHTTP10: Bool) throws(HTTP1RequestParseError) -> RequestBodyFraming {
        guard sawTransferEncoding else { return contentLength.map(RequestBodyFraming.length) ?? .none }
        // RFC 9112 §6.1 and §6.3: framing that two parsers could read two ways is refused.
        if isHTTP10 { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
        if contentLength != nil { throw .malformed("both Content-Length and Transfer-Encoding") }
        guard endsChunked else { throw .malformed("Transfer-Encoding without chunked") }
        return .chunked
    }
}

/// Field names clients send on nearly every request, in the spellings they use, matched without building a
/// string or validating the name again.
private enum KnownFieldNames {
    /// HTTPTypes keeps no `.host` (HTTP/2 carries it as the authority); HTTP/1 sends it as a field.
    static let host = HTTPField.Name("host")!

    private static let table: [(bytes: [UInt8], name: HTTPField.Name)] = {
        let names: [(String, HTTPField.Name)] = [
            ("Host", host), ("Content-Type", .contentType), ("Content-Length", .contentLength), ("Authorization", .authorization),
            ("User-Agent", .userAgent), ("Accept", .accept), ("Accept-Encoding", .acceptEncoding), ("Connection", .connection),
            ("Transfer-Encoding", .transferEncoding), ("X-Api-Key", HTTPField.Name("x-api-key")!),
            ("Anthropic-Version", HTTPField.Name("anthropic-version")!), ("X-Stainless-Lang", HTTPField.Name("x-stainless-lang")!),
        ]
        return names.flatMap { spelling, name in
            [(Array(spelling.utf8), name), (Array(spelling.lowercased().utf8), name)]
        }
    }()

    static func name(_ bytes: UnsafeRawBufferPointer) -> HTTPField.Name? {
        for entry in table where entry.bytes.count == bytes.count && entry.bytes.withUnsafeBytes({ memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }) {
            return entry.name
        }
        return nil
    }
}
