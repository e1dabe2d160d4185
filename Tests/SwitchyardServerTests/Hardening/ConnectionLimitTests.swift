import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("Upstream concurrency is limited only by configuration; saturation is not a provider failure")
struct ConnectionLimitTests {
    static let streamRequest: JSONValue = ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]]

    @Test func aThousandConcurrentStreamsToOneProviderAllSucceed() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "hello", holdBeforeFinish: finish))
        // Generous connect and first-byte timeouts: a thousand connections at once on a loaded 2-core box are slow.
        let config = TestConfigs.singleVendor(
            provider: ", timeout: {connect: 60s, first_byte: 120s}", extra: "routing: {circuit_breaker: {failures: 5, cooldown: 30s}}")
        let count = 1000
        try await LiveGateway.run(vendors: [a], config: config, timeout: .seconds(240)) { gateway in
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(
                    timeout: .init(connect: .seconds(60)),
                    connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: count + 10)))
            defer { _ = client.shutdown() }
            // Every stream is open and has its first content before any of them may finish.
            let results = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                let (opened, openedSink) = AsyncStream.makeStream(of: Void.self)
                for _ in 0..<count {
                    group.addTask {
                        // Every stream reports in once, however it went, so the count below cannot hang.
                        let reader: SSEReader
                        do {
                            let (response, opened) = try await gateway.openStream("/v1/chat/completions", json: Self.streamRequest, key: nil, client: client)
                            let status = Int(response.status.code)
                            guard status == 200 else { openedSink.yield(); return (status, nil) }
                            _ = try await opened.next()
                            reader = opened
                        } catch {
                            openedSink.yield()
                            throw error
                        }
                        openedSink.yield()
                        return (200, try await reader.all().last?.data)
                    }
                }
                var openCount = 0
                for await _ in opened {
                    openCount += 1
                    if openCount == count { break }
                }
                #expect(a.requestCount == count)
                finish.open()
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.0 == 200 }.count == count)
            #expect(results.filter { $0.1 == "[DONE]" }.count == count)
            let target = try #require(gateway.gateway.table.allTargets.first)
            #expect(target.breakerState == .closed)
            #expect(target.counts.failures == 0)
        }
    }

    @Test func aProviderAtItsConnectionLimitIsSkippedWithoutCountingAgainstIt() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "held", holdBeforeFinish: finish))
        let b = SimulatedVendor(name: "b", format: .openai, defaultReply: SimulatedReply(text: "from b"))
        let config = """
            listen: 127.0.0.1:0
            providers:
              a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k], max_connections: 2, timeout: {connect: 2s}}
              b: {type: openai, base_url: "http://127.0.0.1:{{b}}/v1", keys: [k]}
            models:
              smart: {targets: [a/gpt-4o, b/gpt-4o]}
            routing: {circuit_breaker: {failures: 1, cooldown: 30s}}
            """
        try await LiveGateway.run(vendors: [a, b], config: config) { gateway in
            var held: [SSEReader] = []
            for _ in 0..<2 {
                let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: Self.streamRequest, key: nil)
                #expect(response.headers.first(name: "x-switchyard-target") == "a/gpt-4o")
                _ = try await reader.next()
                held.append(reader)
            }
            // Three requests wait (at once) for a free connection to `a` up to its connect timeout, then go to `b`.
            let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<3 {
                    group.addTask { try await gateway.post("/v1/chat/completions", json: Self.streamRequest.with(stream: false), key: nil) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results {
                #expect(result.status == 200)
                #expect(result.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            }
            let targetA = try #require(gateway.gateway.table.allTargets.first { $0.name == "a/gpt-4o" })
            #expect(targetA.breakerState == .closed, "one failure would open it: saturation must not count")
            #expect(targetA.counts.failures == 0)
            #expect(gateway.gateway.table.providers["a"]?.credentials.first?.breakerState == .closed)
            #expect(a.requestCount == 2)
            finish.open()
            for reader in held { #expect(try await reader.all().last?.data == "[DONE]") }
        }
    }
}

extension JSONValue {
    func with(stream: Bool) -> JSONValue {
        guard var object = objectValue else { return self }
        object["stream"] = .bool(stream)
        return .object(object)
    }
}
