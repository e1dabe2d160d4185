import Foundation
import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardProviders
import Synchronization
import Testing

/// An upstream on 127.0.0.1 that answers each request (head plus Content-Length body) with the bytes a
/// script gives, as they are: framings and mistakes NIO's server would never write.
final class ScriptedUpstream: Sendable {
    struct Answer: Sendable {
        var bytes: String
        var closeAfter = false
    }

    final class Counts: Sendable {
        let value = Mutex((connections: 0, requests: 0))
    }

    private let channel: any Channel
    private let counts = Counts()
    var port: Int { channel.localAddress!.port! }
    var connectionCount: Int { counts.value.withLock { $0.connections } }
    var requestCount: Int { counts.value.withLock { $0.requests } }

    init(_ script: @escaping @Sendable (_ requestIndex: Int) -> Answer) async throws {
        let counts = self.counts
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                counts.value.withLock { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Connection(counts: counts, script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func url() -> String { "http://127.0.0.1:\(port)/v1/chat/completions" }

    func stop() async { try? await channel.close() }

    private final class Connection: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let counts: Counts
        let script: @Sendable (Int) -> Answer
        var received = ByteBuffer()

        init(counts: Counts, script: @escaping @Sendable (Int) -> Answer) {
            self.counts = counts
            self.script = script
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            while let request = takeRequest() {
                _ = request
                let index = counts.value.withLock { counts in
                    defer { counts.requests += 1 }
                    return counts.requests
                }
                let answer = script(index)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer.bytes)), promise: nil)
                if answer.closeAfter { context.close(promise: nil) }
            }
        }

        /// A whole request (head and its Content-Length body) if it has arrived.
        private func takeRequest() -> String? {
            let text = String(buffer: received)
            guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
            let head = text[..<headEnd.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let total = text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) + length
            guard received.readableBytes >= total else { return nil }
            return received.readString(length: total)
        }
    }
}

@Suite("Upstream HTTP/1 framing through the event-loop transport")
struct UpstreamHTTP1FramingTests {
    static let policy = EventLoopTransportTests.policy
    static var soon: ContinuousClock.Instant { .now + .seconds(10) }

    /// Runs a test's requests against `server` through a fresh transport pool (`send` posts one request), then
    /// shuts the pool down and stops the server, whether or not the test threw.
    static func exchange(with server: ScriptedUpstream, _ test: (_ send: () async throws -> UpstreamResponse) async throws -> Void) async throws {
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        do {
            try await test { try await transport.execute(EventLoopTransportTests.post(server.url()), headDeadline: Self.soon) }
        } catch {
            await pool.shutdown()
            await server.stop()
            throw error
        }
        await pool.shutdown()
        await server.stop()
    }

    @Test func aBodyEndedByTheCloseArrivesWholeAndItsConnectionIsNotReused() async throws {
        let server = try await ScriptedUpstream { index in
            .init(bytes: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nanswer \(index) ends with the connection", closeAfter: true)
        }
        try await Self.exchange(with: server) { send in
            for index in 0..<3 {
                let response = try await send()
                #expect(try await EventLoopTransportTests.text(response) == "answer \(index) ends with the connection")
            }
            #expect(server.connectionCount == 3)
        }
    }

    @Test func interimHeadsChunkedTrailersAndNoContentReadAsTheAnswer() async throws {
        let answers = [
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n",
            "HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n",
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7 \r\nContent-Length: 4\r\n\r\nslow",
        ]
        let server = try await ScriptedUpstream { index in .init(bytes: answers[index % answers.count]) }
        try await Self.exchange(with: server) { send in
            let chunked = try await send()
            #expect(chunked.head.status == 200)
            #expect(try await EventLoopTransportTests.text(chunked) == "hello!")
            let empty = try await send()
            #expect(empty.head.status == 204 && empty.head.headers["x-empty"] == "yes")
            #expect(try await EventLoopTransportTests.text(empty) == "")
            let limited = try await send()
            #expect(limited.head.status == 429 && limited.head.headers["retry-after"] == "7")
            #expect(try await EventLoopTransportTests.text(limited) == "slow")
            // All three on one kept-alive connection.
            #expect(server.connectionCount == 1)
        }
    }

    @Test func aMalformedAnswerIsTheUpstreamsFaultAndItsConnectionIsDropped() async throws {
        let server = try await ScriptedUpstream { index in
            index == 0
                ? .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                : .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
        try await Self.exchange(with: server) { send in
            let failure = await #expect(throws: UpstreamFailure.self) {
                _ = try await send()
            }
            #expect(failure?.kind == .unavailable && failure?.origin == .upstream)
            #expect(failure?.message.contains("malformed HTTP response") == true, "\(String(describing: failure))")
            let next = try await send()
            #expect(try await EventLoopTransportTests.text(next) == "ok")
            #expect(server.connectionCount == 2)
        }
    }

    /// A malformed answer on a kept-alive connection is not taken for the race of a connection the server
    /// closed: the upstream had the request, so it is not sent again.
    @Test func aMalformedAnswerOnAReusedConnectionIsNotSentAgain() async throws {
        let server = try await ScriptedUpstream { index in
            switch index {
            case 0: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
            case 1: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok")
            default: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nretried")
            }
        }
        try await Self.exchange(with: server) { send in
            let first = try await send()
            #expect(try await EventLoopTransportTests.text(first) == "first")
            let failure = await #expect(throws: UpstreamFailure.self) {
                _ = try await send()
            }
            #expect(failure?.kind == .unavailable && failure?.origin == .upstream)
            #expect(server.requestCount == 2)
        }
    }

    /// Bytes beyond an answer's end would be read as the next request's answer: the answer stands, the
    /// connection does not carry another.
    @Test func bytesPastTheAnswerSpendTheConnection() async throws {
        let server = try await ScriptedUpstream { index in
            .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok \(index)HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
        }
        try await Self.exchange(with: server) { send in
            for index in 0..<2 {
                let response = try await send()
                #expect(try await EventLoopTransportTests.text(response) == "ok \(index)")
            }
            #expect(server.connectionCount == 2)
        }
    }
}
