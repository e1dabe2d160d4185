import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Synchronization
import Testing

/// Routing events as an async sequence, to await instead of sleeping.
final class EventStream: Sendable {
    let events: AsyncStream<RoutingObserver.Event>
    private let sink: AsyncStream<RoutingObserver.Event>.Continuation

    init() {
        (events, sink) = AsyncStream.makeStream(of: RoutingObserver.Event.self)
    }

    var observer: RoutingObserver { RoutingObserver { [sink] in sink.yield($0) } }

    func first(where predicate: (RoutingObserver.Event) -> Bool) async -> RoutingObserver.Event? {
        for await event in events where predicate(event) { return event }
        return nil
    }
}

@Suite("Client connections: disconnects, idle connections, limits, request ids")
struct ClientConnectionTests {
    static let config = TestConfigs.singleVendor(
        extra: "server: {idle_timeout: 60s, max_connections: 40}\nrouting: {circuit_breaker: {failures: 1, cooldown: 30s}}")

    @Test(arguments: [false, true])
    func aClientThatDisconnectsCancelsItsUpstreamRequest(stream: Bool) async throws {
        let release = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai)
        a.failEvery(1, with: .hang(release: release))
        let events = EventStream()
        try await LiveGateway.run(vendors: [a], config: Self.config, observer: events.observer) { gateway in
            var vendorEvents = a.events.makeAsyncIterator()
            let request = Task {
                try await gateway.post(
                    "/v1/chat/completions", json: ["model": "smart", "stream": .bool(stream), "messages": [["role": "user", "content": "x"]]], key: nil)
            }
            _ = await vendorEvents.next()  // the vendor holds the request
            request.cancel()  // the client hangs up
            // Without cancellation the attempt would wait for the first-byte timeout (30s) and fail as a timeout.
            let cancelled = try await withTestTimeout(.seconds(10)) {
                await events.first { if case .attemptCancelled = $0 { true } else { false } }
            }
            guard case .attemptCancelled(let target)? = cancelled else { throw TestFailure("no cancellation") }
            #expect(target == "a/gpt-4o")
            // The attempt loop lets go of the target after the event; the request's log entry comes after that.
            await gateway.gateway.requestLog?.waitUntilRecorded(1)
            let state = try #require(gateway.gateway.table.allTargets.first)
            #expect(state.breakerState == .closed)
            #expect(state.counts.failures == 0)
            #expect(state.inFlight == 0)
            #expect(gateway.gateway.table.providers["a"]?.credentials.first?.inFlight == 0)
            release.open()
        }
    }

    @Test func connectionsThatNeverFinishTheirRequestHeadAreClosed() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let idle = Self.config.replacingOccurrences(of: "idle_timeout: 60s", with: "idle_timeout: 300ms")
        try await LiveGateway.run(vendors: [a], config: idle) { gateway in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: gateway.port).get()
            try? await channel.writeAndFlush(ByteBuffer(string: "P")).get()  // on a loaded machine the timeout may already have passed
            // The gateway closes it after idle_timeout (300ms); the test would time out otherwise.
            try await channel.closeFuture.get()
        }
    }

    @Test func connectionsBeyondTheMaximumAreRefusedAndOthersStillServed() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            var channels: [any Channel] = []
            for _ in 0..<41 {
                channels.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: gateway.port).get())
            }
            // Connections are set up on several event loops, so which one is the 41st to register is not fixed:
            // await whichever the gateway closes.
            let (closed, closedSink) = AsyncStream.makeStream(of: Int.self)
            for (index, channel) in channels.enumerated() { channel.closeFuture.whenComplete { _ in closedSink.yield(index) } }
            var closedIterator = closed.makeAsyncIterator()
            let refused = try #require(await closedIterator.next())
            let open = channels.enumerated().filter { $0.offset != refused }.map(\.element)
            let stillOpen = open.filter { $0.isActive }.count
            #expect(stillOpen == 40, "only one connection is refused")
            for channel in open.prefix(5) { try await channel.close() }
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": "x"]]], key: nil)
            #expect(result.status == 200)
            for channel in open.dropFirst(5) { try? await channel.close() }
        }
    }

    @Test func clientRequestIDsAreEchoedOnlyWhenReasonable() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.config) { gateway in
            let body: JSONValue = ["model": "smart", "messages": [["role": "user", "content": "x"]]]
            let good = try await gateway.post("/v1/chat/completions", json: body, key: nil, headers: ["x-request-id": "trace-123:abc.def_9"])
            #expect(good.headers.first(name: "x-request-id") == "trace-123:abc.def_9")
            for bad in [String(repeating: "a", count: 129), "<script>alert(1)</script>", "spaces are not ok", "quote\"d"] {
                let result = try await gateway.post("/v1/chat/completions", json: body, key: nil, headers: ["x-request-id": bad])
                let echoed = try #require(result.headers.first(name: "x-request-id"))
                #expect(echoed != bad && echoed.hasPrefix("req_"))
                let unknownPath = try await gateway.send(.GET, "/v2/nothing", headers: ["x-request-id": bad])
                #expect(unknownPath.headers.first(name: "x-request-id")?.hasPrefix("req_") == true)
            }
        }
    }
}
