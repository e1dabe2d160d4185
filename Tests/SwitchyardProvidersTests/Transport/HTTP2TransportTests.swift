import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardProviders
import Synchronization
import Testing

/// HTTP/2 to TLS upstreams that offer it by ALPN: real TLS, real HTTP/2 framing (NIO's server on 127.0.0.1).
@Suite("The event-loop upstream transport over HTTP/2")
struct HTTP2TransportTests {
    static let policy = EventLoopTransportTests.policy
    static var soon: ContinuousClock.Instant { .now + .seconds(10) }

    static func post(_ server: TestUpstreamServer, _ path: String = "/v1/chat/completions") -> UpstreamRequest {
        EventLoopTransportTests.post(server.url(path, scheme: "https", host: "localhost"))
    }

    static func text(_ response: UpstreamResponse) async throws -> String {
        try await EventLoopTransportTests.text(response)
    }

    @Test func concurrentRequestsShareOneConnectionAsStreams() async throws {
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { request in
            .respond(headers: [("content-type", "text/event-stream")], chunks: ["data: one\n\n", "data: \(request.uri.split(separator: "/").last!)\n\n"])
        }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: Self.policy)
        // A burst to a host not seen before: the requests wait for the first connection instead of opening
        // one each, and all go on its streams.
        let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<40 {
                group.addTask {
                    let response = try await transport.execute(Self.post(server, "/v1/\(index)"), headDeadline: Self.soon)
                    #expect(response.head.status == 200)
                    #expect(response.head.headers["content-type"] == "text/event-stream")
                    return (index, try await Self.text(response))
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for index in 0..<40 { #expect(answers[index] == "data: one\n\ndata: \(index)\n\n") }
        #expect(server.connectionCount == 1)
        #expect(server.requests.count == 40)
        let first = try #require(server.requests.first)
        #expect(first.version == "HTTP/2.0")
        #expect(first.method == "POST" && first.body == #"{"x":1}"#)
        // HTTP/2's names are lower case, and the connection-only fields of HTTP/1.1 are not sent.
        #expect(first.headers.contains { $0.0 == "authorization" && $0.1 == "Bearer k" })
        #expect(!first.headers.contains { $0.0.lowercased() == "connection" })
        #expect(server.sniNames == ["localhost"])
        await pool.shutdown()
        await server.stop()
    }

    @Test func aSilentStreamTimesOutAloneWhileItsConnectionServesOthers() async throws {
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { request in
            request.uri.hasSuffix("silent") ? .silence : .respond(chunks: ["fine"])
        }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: Self.policy)
        #expect(try await Self.text(try await transport.execute(Self.post(server, "/first"), headDeadline: Self.soon)) == "fine")
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await transport.execute(Self.post(server, "/silent"), headDeadline: .now + .milliseconds(300))
        }
        #expect(failure?.kind == .timeout)
        #expect(try await Self.text(try await transport.execute(Self.post(server, "/after"), headDeadline: Self.soon)) == "fine")
        #expect(server.connectionCount == 1)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aLargeBodyArrivesWholeThroughTheFlowControlWindows() async throws {
        // 4 MiB: sixty-four times HTTP/2's initial stream window, read slowly, so the reader's held reads and
        // the window updates after them decide whether it all arrives.
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { _ in .bulk(chunkSize: 16 * 1024, count: 256) }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let response = try await pool.transport(for: Self.policy).execute(Self.post(server), headDeadline: Self.soon)
        var total = 0
        for try await chunk in response.body {
            total += chunk.readableBytes
            await Task.yield()
        }
        #expect(total == 256 * 16 * 1024)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aLargeRequestBodyReachesTheServerWholeThroughItsWindow() async throws {
        // A vision request with images inlined is megabytes: far past a stream's initial send window.
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { request in .respond(chunks: ["\(request.body.utf8.count)"]) }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        // 1 MiB against the test server's 64 KiB window: sixteen round trips of window updates, which a loaded
        // machine (the whole suite at once) may take seconds for.
        let body = String(repeating: "0123456789abcdef", count: 65_536)
        let request = EventLoopTransportTests.post(server.url(scheme: "https", host: "localhost"), body: body)
        let response = try await pool.transport(for: Self.policy).execute(request, headDeadline: .now + .seconds(60))
        #expect(try await Self.text(response) == "\(body.utf8.count)")
        #expect(server.requests.first?.version == "HTTP/2.0")
        await pool.shutdown()
        await server.stop()
    }

    @Test func afterGoAwayNewRequestsGoToAFreshConnection() async throws {
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { request in
            request.uri.hasSuffix("last") ? .goAwayThenHold(firstChunk: "last on this one") : .respond(chunks: ["ok"])
        }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: Self.policy)
        #expect(try await Self.text(try await transport.execute(Self.post(server, "/a"), headDeadline: Self.soon)) == "ok")
        // The GOAWAY came before this stream's head: while the stream stays open, its connection takes no new one.
        var held: UpstreamResponse? = try await transport.execute(Self.post(server, "/last"), headDeadline: Self.soon)
        var heldBody = held?.body.makeAsyncIterator()
        #expect(try await heldBody?.next().map { String(buffer: $0) } == "last on this one")
        for _ in 0..<3 {
            #expect(try await Self.text(try await transport.execute(Self.post(server, "/b"), headDeadline: Self.soon)) == "ok")
        }
        #expect(server.connectionCount == 2)
        held = nil
        heldBody = nil
        await pool.shutdown()
        await server.stop()
    }

    @Test func aRefusedStreamIsSentOnceMoreButNotTwice() async throws {
        let onceSeen = Atomic<Int>(0)
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { request in
            if request.uri.hasSuffix("always") { return .refuseStream }
            // The first try of /once is refused, the second answered.
            if request.uri.hasSuffix("once"), onceSeen.add(1, ordering: .relaxed).oldValue == 0 { return .refuseStream }
            return .respond(chunks: ["ok"])
        }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: Self.policy)
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await transport.execute(Self.post(server, "/always"), headDeadline: Self.soon)
        }
        #expect(failure?.kind == .unavailable)
        #expect(server.requests.filter { $0.uri.hasSuffix("always") }.count == 2)
        #expect(try await Self.text(try await transport.execute(Self.post(server, "/once"), headDeadline: Self.soon)) == "ok")
        #expect(onceSeen.load(ordering: .relaxed) == 2)
        await pool.shutdown()
        await server.stop()
    }

    @Test func shutdownEndsStreamsInFlightAsCancelled() async throws {
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { _ in .headThenSilence(firstChunk: "partial") }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let response = try await pool.transport(for: Self.policy).execute(Self.post(server), headDeadline: Self.soon)
        var iterator = response.body.makeAsyncIterator()
        #expect(try await iterator.next().map { String(buffer: $0) } == "partial")
        await pool.shutdown()
        let failure = await #expect(throws: UpstreamFailure.self) { _ = try await iterator.next() }
        #expect(failure?.origin == .cancelled)
        await server.stop()
    }

    @Test func withHTTP2OffTheSameServerIsSpokenToInHTTP1() async throws {
        let server = try await TestUpstreamServer(certificate: "server", http2: true) { _ in .respond(chunks: ["one"]) }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"), http2: false)
        let transport = pool.transport(for: Self.policy)
        for _ in 0..<3 { #expect(try await Self.text(try await transport.execute(Self.post(server), headDeadline: Self.soon)) == "one") }
        #expect(server.requests.map(\.version) == ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1"])
        #expect(server.connectionCount == 1)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aBurstToAnHTTP1OnlyTLSServerStillGetsItsAnswers() async throws {
        // The server names no protocol: after the first connection the pool knows, and stops waiting for it.
        let server = try await TestUpstreamServer(certificate: "server") { _ in .respond(chunks: ["h1"]) }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: Self.policy)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<12 { group.addTask { try await Self.text(try await transport.execute(Self.post(server), headDeadline: Self.soon)) } }
            for try await answer in group { #expect(answer == "h1") }
        }
        #expect(server.requests.allSatisfy { $0.version == "HTTP/1.1" } && server.requests.count == 12)
        await pool.shutdown()
        await server.stop()
    }
}

/// A TLS upstream that accepts connections and never says a word: the handshake must give up by the head
/// deadline, for the request that opened the connection and for those that waited for it.
@Suite("A TLS handshake that never ends")
struct SilentTLSHandshakeTests {
    /// A server that accepts connections and never says a word; `accepted` hears of each connection.
    static func silentServer(accepted: AsyncStream<Void>.Continuation? = nil) async throws -> (any Channel, port: Int) {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted?.yield()
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (server, try #require(server.localAddress?.port))
    }

    /// How `count` concurrent requests to `port` over TLS failed (nil for one that did not).
    static func failures(of count: Int, to port: Int, through transport: any UpstreamTransport, headDeadline: Duration) async -> [UpstreamFailure?] {
        await withTaskGroup(of: UpstreamFailure?.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do {
                        _ = try await transport.execute(
                            EventLoopTransportTests.post("https://localhost:\(port)/v1/chat/completions"), headDeadline: .now + headDeadline)
                        return nil
                    } catch {
                        return error as? UpstreamFailure
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test(.timeLimit(.minutes(1))) func theRequestsWaitingForItFailAsTimeoutsAtTheHeadDeadline() async throws {
        let (silent, port) = try await Self.silentServer()
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: EventLoopTransportTests.policy)
        let started = ContinuousClock.now
        let failures = await Self.failures(of: 5, to: port, through: transport, headDeadline: .milliseconds(400))
        #expect(failures.count == 5)
        #expect(failures.allSatisfy { $0?.kind == .timeout })
        #expect(ContinuousClock.now - started < .seconds(5))
        await pool.shutdown()
        try await silent.close()
    }

    @Test(.timeLimit(.minutes(1))) func shutdownEndsTheRequestsWaitingForItAsCancelled() async throws {
        let (accepted, acceptedSink) = AsyncStream.makeStream(of: Void.self)
        let (silent, port) = try await Self.silentServer(accepted: acceptedSink)
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: EventLoopTransportTests.policy)
        let started = ContinuousClock.now
        let requests = Task { await Self.failures(of: 3, to: port, through: transport, headDeadline: .seconds(50)) }
        for await _ in accepted { break }
        await pool.shutdown()
        let failures = await requests.value
        // Cancelled, not the provider's failure, and at once rather than at their head deadline.
        #expect(failures.count == 3 && failures.allSatisfy { $0?.origin == .cancelled }, "\(failures)")
        #expect(ContinuousClock.now - started < .seconds(20))
        try await silent.close()
    }
}
