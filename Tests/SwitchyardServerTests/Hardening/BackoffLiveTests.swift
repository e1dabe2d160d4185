import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite struct BackoffLiveTests {
    @Test func retriesOfTheSameTargetBackOffOnTheRoutersClock() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        a.enqueue(ResilienceConfigs.serverError, ResilienceConfigs.serverError)
        let clock = ManualTimeSource()
        let config = TestConfigs.singleVendor(
            extra: "routing: {attempts: 3, deadline: 60s, backoff: {base: 1s, max: 4s}, circuit_breaker: {failures: 10, cooldown: 30s}}")
        try await LiveGateway.run(vendors: [a], config: config, timeSource: clock) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello, key: nil)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-attempts") == "3")
            // Two backoffs: the first within [0, 1s], the second within [0, 2s]; on the manual clock they take no real time.
            #expect(clock.slept > .zero && clock.slept <= .seconds(3))
        }
    }
}
