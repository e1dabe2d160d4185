import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardProviders
import Synchronization
import Testing

@Suite("The event-loop upstream transport: keep-alive, TLS, deadlines, limits, shutdown")
struct EventLoopTransportTests {
    static let policy = ConnectionPolicy(connectTimeout: .seconds(5), idleReadTimeout: .seconds(30), maxConnections: 100)

    static func post(_ url: String, body: String = #"{"x":1}"#) -> UpstreamRequest {
        UpstreamRequest(method: "POST", url: url, headers: ["content-type": "application/json", "authorization": "Bearer k"], body: ByteBuffer(string: body))
    }

    static func text(_ response: UpstreamResponse) async throws -> String {
        String(buffer: try await response.body.collect(upTo: 1 << 24))
    }

    static var soon: ContinuousClock.Instant { .now + .seconds(10) }

    @Test func sequentialRequestsShareOneKeptAliveConnection() async throws {
        let server = try await TestUpstreamServer { request in .respond(chunks: ["answer ", "\(request.indexOnConnection)"]) }
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        for index in 0..<20 {
            let response = try await transport.execute(Self.post(server.url()), headDeadline: Self.soon)
            #expect(response.head.status == 200)
            #expect(try await Self.text(response) == "answer \(index)")
        }
        #expect(server.connectionCount == 1)
        let first = try #require(server.requests.first)
        #expect(first.uri == "/v1/chat/completions" && first.body == #"{"x":1}"#)
        #expect(first.headers.contains { $0.0.lowercased() == "host" && $0.1 == "127.0.0.1:\(server.port)" })
        #expect(first.headers.contains { $0.0.lowercased() == "content-length" && $0.1 == "7" })
        await pool.shutdown()
        await server.stop()
    }

    /// A caller cancelled after the whole (small) answer arrived but before reading it must see a cancellation,
    /// never a clean end with no bytes: an empty body reads as the upstream's fault and counts against it.
    @Test func aBodyAbandonedAfterItArrivedFailsAsCancelledNotEmpty() async throws {
        let server = try await TestUpstreamServer { _ in .respond(chunks: [#"{"answer":true}"#]) }
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        for _ in 0..<20 {
            let response = try await transport.execute(Self.post(server.url()), headDeadline: Self.soon)
            let reader = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await response.body.collect(upTo: 1 << 20)
            }
            switch await reader.result {
            case .success(let body): Issue.record("a cancelled read returned \(body.readableBytes) bytes instead of failing")
            case .failure(let error): #expect((error as? UpstreamFailure)?.origin == .cancelled)
            }
        }
        await pool.shutdown()
        await server.stop()
    }

    /// The same on the connection's own loop, where a body that has arrived is taken without suspending: a
    /// cancelled reader still finds the cancellation, not the bytes.
    @Test func aBodyAbandonedOnItsOwnLoopAfterItArrivedFailsAsCancelled() async throws {
        let server = try await TestUpstreamServer { _ in .respond(chunks: [#"{"answer":true}"#]) }
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        let executor = LoopExecutor(MultiThreadedEventLoopGroup.singleton.next())
        for _ in 0..<20 {
            let outcome = await Task(executorPreference: executor) { () -> Result<Int, any Error> in
                do {
                    let response = try await transport.execute(Self.post(server.url()), headDeadline: Self.soon)
                    withUnsafeCurrentTask { $0?.cancel() }
                    return .success(try await response.body.collect(upTo: 1 << 20).readableBytes)
                } catch {
                    return .failure(error)
                }
            }.value
            switch outcome {
            case .success(let count): Issue.record("a cancelled read on the loop returned \(count) bytes instead of failing")
            case .failure(let error): #expect((error as? UpstreamFailure)?.origin == .cancelled)
            }
        }
        await pool.shutdown()
        await server.stop()
    }

    /// A header that cannot go on the wire is the request's fault: refused before any connection is taken,
    /// as a target that cannot serve the request (skipped, never counted against the provider).
    @Test func anUnsendableHeaderIsRefusedBeforeSendingAndNotCountedAgainstTheProvider() async throws {
        let server = try await TestUpstreamServer { _ in .respond(chunks: ["should not be read"]) }
        let pool = UpstreamTransportPool()
        var request = Self.post(server.url())
        request.headers.add("anthropic-beta", "a\u{1}b")
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: Self.policy).execute(request, headDeadline: Self.soon)
        }
        #expect(failure?.origin == .unsupported)
        #expect(failure?.kind.countsAgainstHealth == false)
        #expect(server.connectionCount == 0 && server.requests.isEmpty)
        await pool.shutdown()
        await server.stop()
    }

    @Test func tlsUpstreamIsVerifiedAndNamedBySNI() async throws {
        let server = try await TestUpstreamServer(certificate: "server") { _ in .respond(chunks: ["secure"]) }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let transport = pool.transport(for: Self.policy)
        for host in ["localhost", "127.0.0.1"] {
            let response = try await transport.execute(Self.post(server.url(scheme: "https", host: host)), headDeadline: Self.soon)
            #expect(try await Self.text(response) == "secure")
        }
        // SNI carries the host name, never an IP address.
        #expect(server.sniNames == ["localhost"])
        await pool.shutdown()
        await server.stop()
    }

    @Test func anUntrustedCertificateIsRefusedBeforeTheRequestIsSent() async throws {
        let server = try await TestUpstreamServer(certificate: "server") { _ in .respond(chunks: ["should not be read"]) }
        let pool = UpstreamTransportPool()  // system roots only: the test CA is unknown
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: Self.policy).execute(Self.post(server.url(scheme: "https", host: "localhost")), headDeadline: Self.soon)
        }
        #expect(failure?.kind == .unavailable)
        #expect(failure?.message.contains("upstream connection failed") == true)
        #expect(server.requests.isEmpty)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aCertificateForAnotherHostIsRefused() async throws {
        let server = try await TestUpstreamServer(certificate: "other") { _ in .respond(chunks: ["should not be read"]) }
        let pool = UpstreamTransportPool(caFile: TestUpstreamServer.tlsFile("ca.pem"))
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: Self.policy).execute(Self.post(server.url(scheme: "https", host: "localhost")), headDeadline: Self.soon)
        }
        #expect(failure?.kind == .unavailable)
        #expect(server.requests.isEmpty)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aSilentUpstreamTimesOutAtTheHeadDeadline() async throws {
        let server = try await TestUpstreamServer { _ in .silence }
        let pool = UpstreamTransportPool()
        let started = ContinuousClock.now
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: Self.policy).execute(Self.post(server.url()), headDeadline: .now + .milliseconds(300))
        }
        #expect(failure?.kind == .timeout)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        await pool.shutdown()
        await server.stop()
    }

    /// A connection's timer is shared by the exchanges it carries, and one already set for a later time is
    /// kept: the next exchange on the connection must still end at its own, sooner deadline, and the
    /// connection's timer must not fail an exchange that is not late.
    @Test func aKeptAliveConnectionsNextRequestTimesOutAtItsOwnSoonerDeadline() async throws {
        let server = try await TestUpstreamServer { request in request.uri.hasSuffix("silent") ? .silence : .respond(chunks: ["ok"]) }
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        let first = try await transport.execute(Self.post(server.url("/fast")), headDeadline: .now + .seconds(50))
        #expect(try await Self.text(first) == "ok")
        let started = ContinuousClock.now
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await transport.execute(Self.post(server.url("/silent")), headDeadline: .now + .milliseconds(300))
        }
        #expect(failure?.kind == .timeout)
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(300) && waited < .seconds(20))
        // The timeout closed that connection; a fresh one answers, and a timer left from before fails nothing.
        // (Generous deadlines: the whole suite runs at once on two cores, and these only have to be met.)
        for _ in 0..<3 {
            let next = try await transport.execute(Self.post(server.url("/fast")), headDeadline: .now + .seconds(10))
            #expect(try await Self.text(next) == "ok")
        }
        #expect(server.connectionCount == 2)
        await pool.shutdown()
        await server.stop()
    }

    @Test func silenceMidBodyEndsTheReadAfterTheIdleTimeout() async throws {
        let server = try await TestUpstreamServer { _ in .headThenSilence(firstChunk: "data: first\n\n") }
        let pool = UpstreamTransportPool()
        let policy = ConnectionPolicy(connectTimeout: .seconds(5), idleReadTimeout: .milliseconds(300), maxConnections: 10)
        let response = try await pool.transport(for: policy).execute(Self.post(server.url()), headDeadline: Self.soon)
        var iterator = response.body.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first.map { String(buffer: $0) } == "data: first\n\n")
        let failure = await #expect(throws: UpstreamFailure.self) { _ = try await iterator.next() }
        #expect(failure?.kind == .timeout)
        await pool.shutdown()
        await server.stop()
    }

    @Test func anAbandonedBodyClosesItsConnectionInsteadOfReusingIt() async throws {
        let server = try await TestUpstreamServer { request in
            request.uri.hasSuffix("big") ? .bulk(chunkSize: 64 * 1024, count: 64) : .respond(chunks: ["small"])
        }
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        do {
            let response = try await transport.execute(Self.post(server.url("/big")), headDeadline: Self.soon)
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
        }
        let next = try await transport.execute(Self.post(server.url("/small")), headDeadline: Self.soon)
        #expect(try await Self.text(next) == "small")
        #expect(server.connectionCount == 2)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aLargeBodyArrivesWhole() async throws {
        let server = try await TestUpstreamServer { _ in .bulk(chunkSize: 64 * 1024, count: 64) }
        let pool = UpstreamTransportPool()
        let response = try await pool.transport(for: Self.policy).execute(Self.post(server.url()), headDeadline: Self.soon)
        var total = 0
        for try await chunk in response.body {
            total += chunk.readableBytes
            await Task.yield()
        }
        #expect(total == 64 * 64 * 1024)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aKeptAliveConnectionTheServerDroppedIsRetriedOnceOnAFreshOne() async throws {
        // The second request on any connection finds it closed (the server's idle close racing the request).
        let server = try await TestUpstreamServer { request in request.indexOnConnection == 0 ? .respond(chunks: ["ok"]) : .closeAtOnce }
        let pool = UpstreamTransportPool()
        let transport = pool.transport(for: Self.policy)
        for _ in 0..<3 {
            let response = try await transport.execute(Self.post(server.url()), headDeadline: Self.soon)
            #expect(try await Self.text(response) == "ok")
        }
        #expect(server.connectionCount == 3)
        await pool.shutdown()
        await server.stop()
    }

    @Test func aFreshConnectionClosedWithoutAnswerIsAFailureNotARetry() async throws {
        let server = try await TestUpstreamServer { _ in .closeAtOnce }
        let pool = UpstreamTransportPool()
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: Self.policy).execute(Self.post(server.url()), headDeadline: Self.soon)
        }
        #expect(failure?.kind == .unavailable && failure?.origin == .upstream)
        #expect(server.requests.count == 1)
        await pool.shutdown()
        await server.stop()
    }

    @Test func requestsBeyondTheConnectionLimitWaitTheirTurnThenGiveUpAsSaturation() async throws {
        let server = try await TestUpstreamServer { request in
            request.uri.hasSuffix("held") ? .headThenSilence(firstChunk: "held") : .respond(chunks: ["next"])
        }
        let pool = UpstreamTransportPool()
        // Long enough for a loopback connect on a box busy with the whole suite (500 ms once was not).
        let policy = ConnectionPolicy(connectTimeout: .seconds(2), idleReadTimeout: .seconds(30), maxConnections: 1)
        let transport = pool.transport(for: policy)
        var held: UpstreamResponse? = try await transport.execute(Self.post(server.url("/held")), headDeadline: Self.soon)
        var heldBody = held?.body.makeAsyncIterator()
        _ = try await heldBody?.next()
        // The one connection is busy: the next request waits up to its connect timeout, then fails as saturation.
        let failure = await #expect(throws: UpstreamFailure.self) {
            _ = try await transport.execute(Self.post(server.url("/next")), headDeadline: Self.soon)
        }
        #expect(failure?.origin == .gatewaySaturated)
        #expect(server.requests.count == 1)
        // Letting the held response go frees its slot: the next request (queued or not yet, the test cannot
        // tell which) is answered on a new connection.
        let (queued, queuedSink) = AsyncStream.makeStream(of: Void.self)
        let waiting = Task {
            queuedSink.yield()
            return try await Self.text(try await transport.execute(Self.post(server.url("/next")), headDeadline: Self.soon))
        }
        for await _ in queued { break }
        held = nil
        heldBody = nil
        #expect(try await waiting.value == "next")
        #expect(server.connectionCount == 2)
        await pool.shutdown()
        await server.stop()
    }

    @Test func shutdownEndsRequestsInFlightAsCancelled() async throws {
        let server = try await TestUpstreamServer { _ in .headThenSilence(firstChunk: "partial") }
        let pool = UpstreamTransportPool()
        let response = try await pool.transport(for: Self.policy).execute(Self.post(server.url()), headDeadline: Self.soon)
        var iterator = response.body.makeAsyncIterator()
        _ = try await iterator.next()
        await pool.shutdown()
        let failure = await #expect(throws: UpstreamFailure.self) { _ = try await iterator.next() }
        #expect(failure?.origin == .cancelled)
        let refused = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: Self.policy).execute(Self.post(server.url()), headDeadline: Self.soon)
        }
        #expect(refused?.origin == .cancelled)
        // A policy first asked for after shutdown (a reload racing it) is refused too.
        let late = ConnectionPolicy(connectTimeout: .seconds(7), idleReadTimeout: .seconds(7), maxConnections: 7)
        let lateFailure = await #expect(throws: UpstreamFailure.self) {
            _ = try await pool.transport(for: late).execute(Self.post(server.url()), headDeadline: Self.soon)
        }
        #expect(lateFailure?.origin == .cancelled)
        await server.stop()
    }

    @Test func urlsAreReadAsSent() {
        let plain = UpstreamURL("http://127.0.0.1:8080/v1/chat?x=1#frag")
        #expect(plain.isValid && !plain.isTLS && plain.host == "127.0.0.1" && plain.port == 8080)
        #expect(plain.requestTarget == "/v1/chat?x=1" && plain.hostHeader == "127.0.0.1:8080")
        let tls = UpstreamURL("HTTPS://API.Example.com/v1")
        #expect(tls.isTLS && tls.port == 443 && tls.hostHeader == "api.example.com" && tls.path == "/v1")
        let ipv6 = UpstreamURL("http://[::1]:9000")
        #expect(ipv6.isValid && ipv6.host == "::1" && ipv6.port == 9000 && ipv6.hostHeader == "[::1]:9000" && ipv6.requestTarget == "/")
        #expect(!UpstreamURL("http://user:pass@host/").isValid)
        #expect(!UpstreamURL("http://host:99999/").isValid)
        #expect(!UpstreamURL("ftp://host/").isValid)
        #expect(UpstreamURL("https://host:443/").hostHeader == "host")
        // The scheme ends at the first "://", not at the first colon.
        let noScheme = UpstreamURL("host:8080/v1")
        #expect(noScheme.isTLS && noScheme.host == "host" && noScheme.port == 8080 && noScheme.path == "/v1")
        let lateSeparator = UpstreamURL("http:/x://y/z")
        #expect(!lateSeparator.isValid)
    }
}

/// Runs a task's jobs on one event loop, as the gateway's request handling does.
final class LoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
