import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardServer
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite("Graceful shutdown: drain, grace, readiness")
struct GracefulShutdownTests {
    static func config(grace: String = "30s") -> String {
        """
        listen: 127.0.0.1:0
        shutdown_grace: \(grace)
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k]}
          c: {type: anthropic, base_url: "http://127.0.0.1:{{c}}", keys: [k]}
        models:
          smart: a/gpt-4o
          claude: c/claude-sonnet-4-5
        """
    }

    static let streamRequest: JSONValue = ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]]

    /// Spins (without sleeping) until the shutdown sequence has marked the gateway draining.
    static func awaitDraining(_ gateway: LiveGateway.Context) async {
        while !gateway.gateway.drain.isDraining { await Task.yield() }
    }

    @Test func streamsInFlightAtShutdownFinishNormally() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two three", holdBeforeFinish: finish))
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config()) { gateway in
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
            defer { _ = client.shutdown() }
            var readers: [SSEReader] = []
            for _ in 0..<20 {
                let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: Self.streamRequest, key: nil, client: client)
                #expect(response.status.code == 200)
                _ = try await reader.next()
                readers.append(reader)
            }
            await gateway.shutDown()
            await Self.awaitDraining(gateway)
            finish.open()
            for reader in readers {
                let events = try await reader.all()
                #expect(events.last?.data == "[DONE]")
                #expect(!events.contains { $0.json?["error"] != nil })
            }
            await gateway.gatewayExited()
            #expect(!gateway.gateway.drain.isGraceOver)
        }
    }

    @Test func streamsStillRunningWhenTheGraceEndsGetAnErrorEventInTheirDialect() async throws {
        let never = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two", holdBeforeFinish: never))
        let c = SimulatedVendor(name: "c", format: .anthropic, defaultReply: SimulatedReply(text: "one two", holdBeforeFinish: never))
        try await LiveGateway.run(vendors: [a, c], config: Self.config(grace: "300ms")) { gateway in
            let (_, openAI) = try await gateway.openStream("/v1/chat/completions", json: Self.streamRequest, key: nil)
            _ = try await openAI.next()
            let (_, anthropic) = try await gateway.openStream(
                "/v1/messages", json: ["model": "claude", "max_tokens": 10, "stream": true, "messages": [["role": "user", "content": "x"]]], key: nil)
            _ = try await anthropic.next()
            await gateway.shutDown()
            let openAIEvents = try await openAI.all()
            #expect(openAIEvents.last?.json?["error"]?["message"]?.stringValue?.contains("shutting down") == true)
            #expect(!openAIEvents.contains { $0.data == "[DONE]" })
            let anthropicEvents = try await anthropic.all()
            #expect(anthropicEvents.last?.event == "error")
            #expect(anthropicEvents.last?.json?["error"]?["message"]?.stringValue?.contains("shutting down") == true)
            await gateway.gatewayExited()
            #expect(gateway.gateway.drain.isGraceOver)
            never.open()
        }
    }

    @Test func readinessAnswers503FromTheFirstMomentOfTheDrain() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config()) { gateway in
            #expect(try await gateway.send(.GET, "/health/ready").status == 200)
            gateway.gateway.drain.begin()
            let ready = try await gateway.send(.GET, "/health/ready")
            #expect(ready.status == 503)
            #expect(ready.json?["status"] == "draining")
            #expect(try await gateway.send(.GET, "/health/live").status == 200)
            // Requests already on their way are still served while the drain runs.
            #expect(try await gateway.post("/v1/chat/completions", json: hello.with(model: "smart"), key: nil).status == 200)
        }
    }
}

extension JSONValue {
    /// A copy of a request object with `model` replaced.
    func with(model: String) -> JSONValue {
        guard var object = objectValue else { return self }
        object["model"] = .string(model)
        return .object(object)
    }
}
