import NIOCore
import NIOHTTP1
import SwitchyardCore
@testable import SwitchyardProviders
import Testing

/// The upstream request encoder writes what NIO's encoder wrote, and its check refuses what NIO's validator
/// refused: nothing a client or a config puts in a header may split the request.
@Suite struct UpstreamRequestEncoderTests {
    /// The bytes the encoder puts on the wire for `head` and `body`, and whether the last piece came last.
    static func send(_ head: HTTPRequestHead, _ body: String? = nil) -> (wire: String, endsOnce: Bool) {
        var wire = ""
        var lastFlags: [Bool] = []
        UpstreamRequestEncoder.encode(head, body: body.map { ByteBuffer(string: $0) }, allocator: ByteBufferAllocator()) { bytes, isLast in
            wire += String(buffer: bytes)
            lastFlags.append(isLast)
        }
        return (wire, lastFlags.last == true && lastFlags.dropLast().allSatisfy { !$0 })
    }

    static func head(method: HTTPMethod = .POST, uri: String = "/v1/chat/completions", _ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test func aRequestWithALengthIsWrittenAsItIs() {
        let head = Self.head([("host", "api.example.com"), ("authorization", "Bearer k"), ("content-length", "7"), ("transfer-encoding", "gzip")])
        let sent = Self.send(head, #"{"a":1}"#)
        #expect(sent.wire == "POST /v1/chat/completions HTTP/1.1\r\nhost: api.example.com\r\nauthorization: Bearer k\r\ncontent-length: 7\r\n\r\n" + #"{"a":1}"#)
        #expect(sent.endsOnce)
    }

    @Test func aBodyOfUnknownLengthIsChunked() {
        let head = Self.head([("host", "h")])
        let sent = Self.send(head, "hello")
        #expect(sent.wire == "POST /v1/chat/completions HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(sent.endsOnce)
        let empty = Self.send(head)
        #expect(empty.wire == "POST /v1/chat/completions HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
        let get = Self.send(Self.head(method: .GET, uri: "/v1/models", [("host", "h")]))
        #expect(get.wire == "GET /v1/models HTTP/1.1\r\nhost: h\r\n\r\n")
    }

    @Test(arguments: [
        [("x-injected", "a\r\nhost: evil")], [("x-nul", "a\u{0}b")], [("x-del", "a\u{7f}")], [("x-ctl", "a\u{1}b")], [("bad name", "v")],
        [("", "v")], [("na\rme", "v")],
    ])
    func headersThatCouldSplitTheRequestAreNotSendable(_ headers: [(String, String)]) {
        #expect(!UpstreamRequestEncoder.isSendable(Self.head([("host", "h")] + headers)))
    }

    @Test(arguments: ["/v1/chat completions", "/v1/x\r\nhost: evil", "", "/v1/é"])
    func targetsOutsideURICharactersAreNotSendable(_ uri: String) {
        #expect(!UpstreamRequestEncoder.isSendable(Self.head(uri: uri, [("host", "h"), ("content-length", "0")])))
    }

    @Test func targetBytesAreRFC3986s() {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(UpstreamRequestEncoder.isTargetByte(byte) == allowed.contains(byte), "byte \(byte)")
        }
    }

    /// The eight-at-a-time check agrees with the byte-by-byte rule wherever a bad byte sits, for every byte.
    @Test func fieldValuesAreCheckedByteByByteOrEightAtATime() {
        for byte in UInt8.min...UInt8.max {
            let allowed = byte >= 0x20 ? byte != 0x7F : byte == 0x09
            for length in [1, 7, 8, 9, 16, 23] {
                for position in 0..<length {
                    var value = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    value[position] = byte
                    #expect(value.withUnsafeBytes { HTTP1Syntax.isFieldValue($0) } == allowed, "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func ordinaryHeadsAreSendable() {
        #expect(UpstreamRequestEncoder.isSendable(Self.head(uri: "/v1/messages?beta=true", [("host", "h"), ("x-note", "a\tcafé"), ("anthropic-beta", "x,y")])))
        #expect(!UpstreamRequestEncoder.isSendable(HTTPRequestHead(version: .http1_1, method: .RAW(value: "BAD METHOD"), uri: "/")))
    }

    @Test func tabsAndNonASCIIValuesAreSentAsTheyAre() {
        let sent = Self.send(Self.head([("host", "h"), ("x-note", "a\tcafé"), ("content-length", "0")]))
        #expect(sent.wire.contains("x-note: a\tcafé\r\n"))
    }
}
