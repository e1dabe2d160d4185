import AsyncHTTPClient
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite("routing.deadline bounds getting an answer; timeout.total bounds a stream")
struct StreamLifetimeTests {
    static let config = TestConfigs.singleVendor(provider: ", timeout: {total: 600s}", extra: "routing: {deadline: 30s}")
    static let request: JSONValue = ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]]

    @Test func aStreamMayRunPastTheRouteDeadline() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "a long generation", holdBeforeFinish: finish))
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [a], config: Self.config, timeSource: clock) { gateway in
            let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: Self.request, key: nil)
            #expect(response.status.code == 200)
            _ = try await reader.next()
            clock.advance(by: .seconds(120))  // far past routing.deadline, well within timeout.total
            finish.open()
            let events = try await reader.all()
            #expect(events.last?.data == "[DONE]")
            #expect(!events.contains { $0.json?["error"] != nil })
        }
    }

    @Test func aStreamIsCutAtItsProvidersTotalTimeout() async throws {
        let finish = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "a long generation", holdBeforeFinish: finish))
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [a], config: Self.config, timeSource: clock) { gateway in
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: Self.request, key: nil)
            _ = try await reader.next()
            clock.advance(by: .seconds(601))
            finish.open()
            let events = try await reader.all()
            #expect(events.last?.json?["error"]?["type"] == "timeout_error")
            #expect(!events.contains { $0.data == "[DONE]" })
        }
    }
}
