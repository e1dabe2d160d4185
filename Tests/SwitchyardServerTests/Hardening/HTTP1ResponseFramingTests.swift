import HTTPTypes
import NIOCore
import Testing

@testable import SwitchyardServer

/// The response head the server writes itself: one `Date` (the server's), the framing's own fields, and the
/// handlers' fields as they set them.
@Suite("HTTP/1 server codec: response heads")
struct HTTP1ResponseFramingTests {
    static let date = "Wed, 02 Dec 2026 01:02:03 GMT"

    static func head(_ response: HTTPResponse, http10: Bool = false, closes: Bool = false) -> (String, HTTP1ResponseFraming) {
        let (bytes, framing) = HTTP1ResponseFraming.head(
            of: response, date: date, http10: http10, closes: closes, omitsBody: false, allocator: ByteBufferAllocator())
        return (String(buffer: bytes), framing)
    }

    @Test func aBodyOfKnownLengthIsDelimitedAndTheServersDateReplacesAHandlers() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .contentType, value: "application/json"))
        fields.append(HTTPField(name: .date, value: "Thu, 01 Jan 1970 00:00:00 GMT"))
        fields.append(HTTPField(name: .contentLength, value: "2"))
        let (text, framing) = Self.head(HTTPResponse(status: .ok, headerFields: fields))
        #expect(framing == .delimited)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nDate: \(Self.date)\r\n\r\n")
    }

    @Test func aBodyOfUnknownLengthIsChunkedWithTheFramingsOwnField() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .transferEncoding, value: "gzip"))
        fields.append(HTTPField(name: .connection, value: "keep-alive"))
        let (text, framing) = Self.head(HTTPResponse(status: .ok, headerFields: fields), closes: true)
        #expect(framing == .chunked)
        #expect(text == "HTTP/1.1 200 OK\r\nDate: \(Self.date)\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n")
        let (http10, untilClose) = Self.head(HTTPResponse(status: .ok), http10: true, closes: true)
        #expect(untilClose == .untilClose)
        #expect(http10 == "HTTP/1.0 200 OK\r\nDate: \(Self.date)\r\nconnection: close\r\n\r\n")
    }

    @Test func fieldsWithNamesOfTheSameLengthAsTheFramingsAreKept() {
        var fields = HTTPFields()
        // 14 and 4 characters, like content-length and date; 17 like transfer-encoding.
        fields.append(HTTPField(name: HTTPField.Name("x-switchyard-a")!, value: "1"))
        fields.append(HTTPField(name: HTTPField.Name("x-id")!, value: "2"))
        fields.append(HTTPField(name: HTTPField.Name("x-switchyard-abc")!, value: "3"))
        let (text, framing) = Self.head(HTTPResponse(status: .notFound, headerFields: fields))
        #expect(framing == .chunked)
        #expect(text.contains("x-switchyard-a: 1\r\nx-id: 2\r\nx-switchyard-abc: 3\r\n"))
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
    }
}
