import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardServer
import SwitchyardSimulator
import Testing

/// What the connection handler writes itself: status lines, framing, answers to what cannot be parsed,
/// HEAD answers, and when an idle connection is closed.
@Suite("Connection handling: framing, unreadable requests, HEAD, idle connections")
struct ConnectionHandlingTests {
    static let config = FastPathTests.config

    @Test func statusLinesCarryTheStandardReasonPhrase() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(
                "GET /health/live HTTP/1.1\r\nhost: gateway\r\n\r\n" + "GET /nowhere HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n")
            let text = try await connection.readToEnd()
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.contains("HTTP/1.1 404 Not Found\r\n"))
        }
    }

    /// NIO's parser gives up: the client is told (400, `Connection: close`) and the connection closes,
    /// whether the head or a chunked body is broken.
    @Test(arguments: [
        "NOT HTTP AT ALL\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        "GET /health/live HTTP/1.1\r\nhost: gateway\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
    ])
    func unreadableRequestsAreAnswered400AndTheConnectionCloses(request: String) async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(request)
            // Returns only once the gateway has closed the connection.
            let text = try await connection.readToEnd()
            #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
            #expect(text.lowercased().contains("connection: close\r\n"))
            #expect(text.hasSuffix("\r\n\r\n"), "a head without a body")
            #expect(a.requestCount == 0)
            // The gateway goes on serving.
            #expect(try await gateway.send(.GET, "/health/live").status == 200)
        }
    }

    /// A HEAD answer is a head (saying the length a GET would get) and no body: the next answer on the
    /// connection starts right after it.
    @Test func headRequestsAreAnsweredWithAHeadOnly() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(
                "HEAD /v1/models HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer test-key\r\n\r\n"
                    + "GET /health/live HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n")
            let text = try await connection.readToEnd()
            let parts = text.components(separatedBy: "\r\n\r\n")
            #expect(parts.count == 3, "\(text)")
            guard parts.count == 3 else { return }
            #expect(parts[0].hasPrefix("HTTP/1.1 "))
            #expect(parts[0].lowercased().contains("content-length: "))
            #expect(parts[1].hasPrefix("HTTP/1.1 200 OK"), "the second answer follows the first head directly")
            #expect(parts[2] == #"{"status":"ok"}"#)
        }
    }

    static let shortIdle = TestConfigs.singleVendor(extra: "keys:\n  - {name: app, key: test-key}\nserver: {idle_timeout: 2s}")

    /// An answer that lasts longer than the idle timeout (2.8 s against 2 s) is not cut; once it has ended,
    /// the kept-alive connection that asks nothing more is closed.
    @Test func idleTimeoutClosesKeptAliveConnectionsButNeverAnAnswerInProgress() async throws {
        let a = SimulatedVendor(
            name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two three four five six seven eight", chunkInterval: .milliseconds(350)))
        try await LiveGateway.run(vendors: [a], config: Self.shortIdle) { gateway in
            let connection = try await RawConnection.open(
                port: gateway.port,
                sending: [FastPathTests.post("/v1/chat/completions", #"{"model":"smart","stream":true,"messages":[{"role":"user","content":"x"}]}"#)])
            // Returns only once the gateway closes the connection: after the whole stream.
            let text = try await connection.readToEnd()
            #expect(text.contains("eight"))
            #expect(text.hasSuffix("data: [DONE]\n\n\r\n0\r\n\r\n"), "the whole stream, then the close")
            #expect(a.requestCount == 1)
        }
    }

    /// A body that keeps arriving, each piece well within the idle timeout, is read to its end however long it
    /// takes in all.
    @Test func aSlowButSteadyUploadIsNotIdle() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.shortIdle) { gateway in
            let body = #"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#
            let head = FastPathTests.post("/v1/chat/completions", body).components(separatedBy: "\r\n\r\n")[0] + "\r\n\r\n"
            // Pacing the client is what is tested: eight pieces 400 ms apart, 3.2 s in all against a 2 s timeout.
            let bytes = Array(body)
            let size = bytes.count / 8 + 1
            let pieces = stride(from: 0, to: bytes.count, by: size).map { String(bytes[$0..<min($0 + size, bytes.count)]) }
            let connection = try await RawConnection.open(port: gateway.port, sending: [head] + pieces, every: .milliseconds(400))
            let answer = try await withTestTimeout(.seconds(10)) { try await connection.readUntil(#""object":"chat.completion""#) }
            #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
            try await connection.close()
        }
    }
}
