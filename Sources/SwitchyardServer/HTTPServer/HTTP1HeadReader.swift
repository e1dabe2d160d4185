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
        var framing = HTTP1FramingFields()
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
            // Host is the request's authority, not one of its fields (as NIO's HTTPTypes conversion has it). Two
            // of them are refused (RFC 9112 §3.2): a proxy in front may have read the other one.
            if name.is(KnownFieldNames.host) {
                guard authority == nil else { throw .malformed("more than one Host field") }
                authority = String(decoding: valueBytes, as: UTF8.self)
                position = newline + 1
                continue
            }
            do {
                _ = try framing.read(name: nameBytes, value: valueBytes)
            } catch {
                throw .malformed(error.reason)
            }
            // Values were checked for control bytes and trimmed above, so HTTPTypes' check passes them as they
            // are. (Its byte initializers validate through an unspecialised generic path, several times slower.)
            fields.append(HTTPField(name: name, value: String(decoding: valueBytes, as: UTF8.self)))
            position = newline + 1
        }
        return HTTP1RequestHead(
            method: method, target: target, authority: authority, isHTTP10: isHTTP10, fields: fields, framing: try framing.requestFraming(isHTTP10: isHTTP10))
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

extension HTTP1FramingFields {
    /// A request's body framing: whatever two readers could frame two ways is refused (RFC 9112 §6.1, §6.3).
    func requestFraming(isHTTP10: Bool) throws(HTTP1RequestParseError) -> RequestBodyFraming {
        guard hasTransferEncoding else { return contentLength.map(RequestBodyFraming.length) ?? .none }
        if hasOtherCoding {
            throw HTTP1RequestParseError(kind: .unsupportedTransferCoding, reason: "transfer coding not supported (only chunked)")
        }
        if isChunkedTwice { throw .malformed("chunked transfer coding applied twice") }
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
