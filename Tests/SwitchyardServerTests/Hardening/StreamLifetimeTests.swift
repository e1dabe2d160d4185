import AsyncHTTPClient
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Synchronization
import Testing

@Suite("routing.deadline bounds getting an answer; timeout.total bounds a stream")
struct StreamLifetimeTests {
    static let config = TestConfigs.singleVendor(provider: ", timeout: {total: 600s}", extra: "routing: {deadline: 30s}")
    static let request: JSONValue = ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]]

    /// Opens a stream whose upstream holds its end, moves the router's clock by `elapsed`, lets the upstream
    /// finish, and returns every event the client received.
    static func events(afterStreamRunsFor elapsed: Duration) async throws -> [SSEEvent] {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "a long generation", holdBeforeFinish: finish))
        let clock = ManualTimeSource()
        let received = Mutex<[SSEEvent]>([])
        try await LiveGateway.run(vendors: [a], config: Self.config, timeSource: clock) { gateway in
            let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: Self.request, key: nil)
            #expect(response.status.code == 200)
            let first = try await reader.next()
            clock.advance(by: elapsed)
            finish.open()
            let rest = try await reader.all()
            received.withLock { $0 = (first.map { [$0] } ?? []) + rest }
        }
        return received.withLock { $0 }
    }

    @Test func aStreamMayRunPastTheRouteDeadline() async throws {
        // Far past routing.deadline (30s), well within timeout.total (600s).
        let events = try await Self.events(afterStreamRunsFor: .seconds(120))
        #expect(events.last?.data == "[DONE]")
        #expect(!events.contains { $0.json?["error"] != nil })
    }

    @Test func aStreamIsCutAtItsProvidersTotalTimeout() async throws {
        let events = try await Self.events(afterStreamRunsFor: .seconds(601))
        #expect(events.last?.json?["error"]?["type"] == "timeout_error")
        #expect(!events.contains { $0.data == "[DONE]" })
    }
}
