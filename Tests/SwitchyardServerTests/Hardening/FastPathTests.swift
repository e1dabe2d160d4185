import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore
import SwitchyardServer
import SwitchyardSimulator
import Testing

/// The `/v1` POSTs are answered from the connection's pipeline, everything else by Hummingbird's router;
/// one client connection may mix both, pipelined, and must get its answers whole and in order.
@Suite("Fast path: pipelining, ordering and connection handling across both sides")
struct FastPathTests {
    static let config = TestConfigs.singleVendor(extra: "keys:\n  - {name: app, key: test-key}")

    @Test func pipelinedRequestsAreAnsweredInOrderWhicheverSideServesThem() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two three", holdBeforeFinish: finish))
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let chat = #"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#
            let requests = [
                Self.post("/v1/chat/completions", #"{"model":"smart","stream":true,"messages":[{"role":"user","content":"x"}]}"#),
                "GET /health/live HTTP/1.1\r\nhost: gateway\r\n\r\n",
                Self.post("/v1/messages", #"{"model":"smart","max_tokens":20,"messages":[{"role":"user","content":"x"}]}"#),
                "GET /v1/models HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer test-key\r\n\r\n",
                Self.post("/v1/chat/completions", chat, key: "not-a-key"),
                // A chunked body, and the last request asks for the connection to close after it.
                "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer test-key\r\ncontent-type: application/json\r\n"
                    + "transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                    + String(chat.utf8.count, radix: 16) + "\r\n" + chat + "\r\n0\r\n\r\n",
            ]
            let connection = try await RawConnection.open(port: gateway.port)
            // One write, so every request is read while the first is still being answered.
            try await connection.send(requests.joined())
            // The stream has started (its first content is out) and holds before its end; everything pipelined
            // behind it has been read by now and must wait.
            _ = try await connection.readUntil("one")
            finish.open()
            let responses = try Self.parseResponses(try await connection.readToEnd())
            #expect(responses.map(\.status) == [200, 200, 200, 200, 401, 200])
            guard responses.count == 6 else { return }
            #expect(responses[0].body.contains("[DONE]"))
            #expect(responses[1].body == #"{"status":"ok"}"#)
            #expect(responses[2].body.contains(#""type":"message""#))
            #expect(responses[3].body.contains(#""object":"list""#))
            #expect(responses[4].body.contains("invalid_api_key") || responses[4].body.contains("authentication"))
            #expect(responses[5].body.contains(#""object":"chat.completion""#))
            // Every answer carries a Date, as Hummingbird's do.
            #expect(responses.allSatisfy { $0.headers["date"]?.hasSuffix(" GMT") == true })
            // Only the answer after which the connection closes says so.
            #expect(responses.map { $0.headers["connection"] } == [nil, nil, nil, nil, nil, "close"])
            #expect(a.requestCount == 3)
        }
    }

    /// A stream's writes are flushed as the answering task yields, not only when the stream ends: every
    /// chunk the vendor sent is with the client while the vendor still holds the stream open, in both dialects.
    @Test(arguments: ["/v1/chat/completions", "/v1/messages"])
    func streamedChunksReachTheClientBeforeTheStreamEnds(path: String) async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "alpha bravo charlie zulu", chunkInterval: .milliseconds(20), holdBeforeFinish: finish))
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            // Released however the test ends, so a failure stops the gateway cleanly instead of holding its drain.
            defer { finish.open() }
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(
                Self.post(path, #"{"model":"smart","stream":true,"max_tokens":20,"messages":[{"role":"user","content":"x"}]}"#))
            let seen = try await withTestTimeout(.seconds(10)) { try await connection.readUntil("zulu") }
            #expect(seen.contains("alpha") && seen.contains("charlie"))
            try await connection.close()
        }
    }

    @Test func aClientThatClosesWhileItsRequestIsQueuedLeavesTheConnectionCleanly() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two", holdBeforeFinish: finish))
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let stream = Self.post("/v1/chat/completions", #"{"model":"smart","stream":true,"messages":[{"role":"user","content":"x"}]}"#)
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(stream + "GET /health/live HTTP/1.1\r\nhost: gateway\r\n\r\n")
            _ = try await connection.readUntil("one")
            try await connection.close()
            finish.open()
            // The gateway still serves new connections, and the abandoned stream's entry is written.
            await gateway.gateway.requestLog?.waitUntilRecorded(1)
            let health = try await gateway.send(.GET, "/health/live")
            #expect(health.status == 200)
        }
    }

    /// HTTP/1.0 clients (health checks of load balancers, old tools) get HTTP/1.0 answers, a stream without
    /// chunked framing, and the connection closed after their request.
    @Test(arguments: [false, true])
    func http10RequestsAreAnsweredInHTTP10AndTheConnectionCloses(stream: Bool) async throws {
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two three"))
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let body = #"{"model":"smart","stream":\#(stream),"messages":[{"role":"user","content":"x"}]}"#
            let request = Self.post("/v1/chat/completions", body).replacingOccurrences(of: "HTTP/1.1", with: "HTTP/1.0")
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(request)
            // Returns only when the gateway closes the connection.
            let text = try await connection.readToEnd()
            let head = text.components(separatedBy: "\r\n\r\n")[0].lowercased()
            #expect(head.hasPrefix("http/1.0 200"))
            #expect(head.contains("connection: close"))
            #expect(!head.contains("transfer-encoding"))
            if stream {
                #expect(text.hasSuffix("data: [DONE]\n\n"), "the body is the events themselves, ended by the close")
                #expect(text.contains("one") && text.contains("three"))
            } else {
                #expect(text.contains(#""content":"one two three""#))
            }
        }
    }

    static func post(_ path: String, _ body: String, key: String = "test-key") -> String {
        "POST \(path) HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer \(key)\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    struct RawResponse {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// Splits a byte stream into HTTP/1.1 responses (Content-Length or chunked bodies).
    static func parseResponses(_ text: String) throws -> [RawResponse] {
        var rest = Array(text.utf8)[...]
        func line() throws -> String {
            guard let end = rest.indices.first(where: { rest[$0] == UInt8(ascii: "\r") && $0 + 1 < rest.endIndex && rest[$0 + 1] == UInt8(ascii: "\n") }) else {
                throw TestFailure("unterminated line")
            }
            defer { rest = rest[(end + 2)...] }
            return String(decoding: rest[..<end], as: UTF8.self)
        }
        func take(_ count: Int) throws -> String {
            guard rest.count >= count else { throw TestFailure("short body") }
            defer { rest = rest.dropFirst(count) }
            return String(decoding: rest.prefix(count), as: UTF8.self)
        }
        var responses: [RawResponse] = []
        while !rest.isEmpty {
            guard let status = try line().split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { throw TestFailure("bad status line") }
            var headers: [String: String] = [:]
            while case let header = try line(), !header.isEmpty {
                guard let colon = header.firstIndex(of: ":") else { continue }
                headers[header[..<colon].lowercased()] = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var body = ""
            if let length = headers["content-length"].flatMap(Int.init) {
                body = try take(length)
            } else if headers["transfer-encoding"] == "chunked" {
                while let size = Int(try line(), radix: 16) {
                    body += try take(size)
                    _ = try line()
                    if size == 0 { break }
                }
            }
            responses.append(RawResponse(status: status, headers: headers, body: body))
        }
        return responses
    }
}

/// A client connection that sends raw bytes and reads what comes back, for what HTTP clients never do
/// (pipelining, mixing requests) or hide (the exact bytes).
final class RawConnection: Sendable {
    private let channel: any Channel
    private let received: AsyncStream<ByteBuffer>
    private let reader: ReaderBox

    private final class ReaderBox: @unchecked Sendable {
        // Used by the one test task reading the connection.
        var iterator: AsyncStream<ByteBuffer>.AsyncIterator
        var seen = ""
        init(_ iterator: AsyncStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let sink: AsyncStream<ByteBuffer>.Continuation
        init(sink: AsyncStream<ByteBuffer>.Continuation) { self.sink = sink }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { sink.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { sink.finish() }
    }

    private init(channel: any Channel, received: AsyncStream<ByteBuffer>) {
        self.channel = channel
        self.received = received
        self.reader = ReaderBox(received.makeAsyncIterator())
    }

    static func open(port: Int) async throws -> RawConnection {
        try await open(port: port, sending: [])
    }

    /// Connects and sends `pieces` from the connection's event loop: the first as soon as it is connected, the
    /// others one every `interval` after it. Nothing waits for the test's task to be scheduled, which a loaded
    /// machine may delay by seconds — longer than the idle timeouts the timed tests measure against.
    static func open(port: Int, sending pieces: [String], every interval: TimeAmount = .zero) async throws -> RawConnection {
        let (stream, sink) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(sink: sink)) } }
            .connect(host: "127.0.0.1", port: port)
            .map { channel in
                for (index, piece) in pieces.enumerated() {
                    let bytes = ByteBuffer(string: piece)
                    if index == 0 {
                        channel.writeAndFlush(bytes, promise: nil)
                    } else {
                        channel.eventLoop.scheduleTask(in: interval * Int64(index)) { channel.writeAndFlush(bytes, promise: nil) }
                    }
                }
                return channel
            }
            .get()
        return RawConnection(channel: channel, received: stream)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Reads until `marker` has been seen; returns everything read so far.
    func readUntil(_ marker: String) async throws -> String {
        while !reader.seen.contains(marker) {
            guard let buffer = await reader.iterator.next() else { throw TestFailure("connection closed before \(marker)") }
            reader.seen += String(buffer: buffer)
        }
        return reader.seen
    }

    /// Reads until the server closes the connection; returns everything read.
    func readToEnd() async throws -> String {
        try await withTestTimeout(.seconds(30)) { [self] in
            while let buffer = await reader.iterator.next() { reader.seen += String(buffer: buffer) }
            return reader.seen
        }
    }

    func close() async throws {
        try await channel.close()
    }
}
