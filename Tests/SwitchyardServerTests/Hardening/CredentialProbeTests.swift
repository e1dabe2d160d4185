import Foundation
import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite("A revoked credential is probed once per cooldown")
struct CredentialProbeTests {
    @Test func aFailingProbeWaitsAnotherCooldownBeforeTheNext() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let clock = ManualTimeSource()
        // Key 0 of `a` is revoked and stays revoked; `a` has only that key, so every request falls to `b`.
        let config = ResilienceConfigs.twoTargets(routing: "circuit_breaker: {failures: 5, cooldown: 30s}")
            .replacingOccurrences(of: "keys: [key-a-0, key-a-1]", with: "keys: [revoked-key-a-0]")
        try await LiveGateway.run(vendors: [a, b], config: config, timeSource: clock) { gateway in
            func probes() -> Int { a.requests.count }
            #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200)
            #expect(probes() == 1)
            for _ in 0..<3 { _ = try await gateway.post("/v1/chat/completions", json: hello) }
            #expect(probes() == 1, "a disabled key is not tried before its cooldown")
            clock.advance(by: .seconds(31))
            for _ in 0..<5 { #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200) }
            #expect(probes() == 2, "one probe after the cooldown, then none until the next one")
            clock.advance(by: .seconds(10))
            for _ in 0..<3 { _ = try await gateway.post("/v1/chat/completions", json: hello) }
            #expect(probes() == 2)
            clock.advance(by: .seconds(21))
            _ = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(probes() == 3)
        }
    }
}
