import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import SwitchyardProviders
import Testing

/// The upstream request encoder writes what NIO's encoder wrote, and its check refuses what NIO's validator
/// refused: nothing a client or a config puts in a header may split the request.
@Suite struct UpstreamRequestEncoderTests {
    /// Writes `parts` through the encoder; the bytes that reached the wire, and the errors the pipeline saw.
    static func send(_ parts: [HTTPClientRequestPart]) throws -> (wire: String, failedWrites: Int, errors: [any Error]) {
        let errors = ErrorCollector()
        let channel = EmbeddedChannel(handlers: [UpstreamRequestEncoder(), errors])
        var failed = 0
        for part in parts {
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { _ in failed += 1 }
            channel.write(part, promise: written)
        }
        channel.flush()
        var wire = ""
        while let buffer = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let bytes) = buffer else { continue }
            wire += String(buffer: bytes)
        }
        _ = try channel.finish()
        return (wire, failed, errors.seen)
    }

    final class ErrorCollector: ChannelInboundHandler {
        typealias InboundIn = Never
        var seen: [any Error] = []
        func errorCaught(context: ChannelHandlerContext, error: any Error) { seen.append(error) }
    }

    static func head(method: HTTPMethod = .POST, uri: String = "/v1/chat/completions", _ headers: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test func aRequestWithALengthIsWrittenAsItIs() throws {
        let body = ByteBuffer(string: #"{"a":1}"#)
        let head = Self.head([("host", "api.example.com"), ("authorization", "Bearer k"), ("content-length", "7"), ("transfer-encoding", "gzip")])
        let sent = try Self.send([.head(head), .body(.byteBuffer(body)), .end(nil)])
        #expect(sent.wire == "POST /v1/chat/completions HTTP/1.1\r\nhost: api.example.com\r\nauthorization: Bearer k\r\ncontent-length: 7\r\n\r\n" + #"{"a":1}"#)
        #expect(sent.failedWrites == 0 && sent.errors.isEmpty)
    }

    @Test func aBodyOfUnknownLengthIsChunked() throws {
        let head = Self.head([("host", "h")])
        let sent = try Self.send([.head(head), .body(.byteBuffer(ByteBuffer(string: "hello"))), .body(.byteBuffer(ByteBuffer())), .end(nil)])
        #expect(sent.wire == "POST /v1/chat/completions HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        let get = try Self.send([.head(Self.head(method: .GET, uri: "/v1/models", [("host", "h")])), .end(nil)])
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

    @Test func ordinaryHeadsAreSendable() {
        #expect(UpstreamRequestEncoder.isSendable(Self.head(uri: "/v1/messages?beta=true", [("host", "h"), ("x-note", "a\tcafé"), ("anthropic-beta", "x,y")])))
        #expect(!UpstreamRequestEncoder.isSendable(HTTPRequestHead(version: .http1_1, method: .RAW(value: "BAD METHOD"), uri: "/")))
    }

    @Test func tabsAndNonASCIIValuesAreSentAsTheyAre() throws {
        let sent = try Self.send([.head(Self.head([("host", "h"), ("x-note", "a\tcafé"), ("content-length", "0")])), .end(nil)])
        #expect(sent.wire.contains("x-note: a\tcafé\r\n"))
    }
}
