import Foundation
import NIOHTTP1
import SwitchyardCore
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("Whose fault: an unknown model counts against nobody, or against the misconfigured target only")
struct WhoseFaultTests {
    static let config = """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [key-a-0, key-a-1]}
          c: {type: anthropic, base_url: "http://127.0.0.1:{{c}}", keys: [key-c-0]}
        models:
          smart: a/gpt-4o
          typo-route: {targets: [a/missing-gpt-5, c/claude-sonnet-4-5]}
        routing: {circuit_breaker: {failures: 2, cooldown: 30s}}
        keys:
          - {name: app, key: test-key}
        """

    @Test func aClientNamingAnUnknownModelDirectlyGets404AndTakesNothingOffline() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config) { gateway in
            for _ in 0..<5 {
                let openAI = try await gateway.post("/v1/chat/completions", json: ["model": "a/missing-model", "messages": [["role": "user", "content": "x"]]])
                #expect(openAI.status == 404)
                #expect(openAI.json?["error"]?["code"] == "model_not_found")
                let anthropic = try await gateway.post(
                    "/v1/messages", json: ["model": "c/missing-claude", "max_tokens": 5, "messages": [["role": "user", "content": "x"]]])
                #expect(anthropic.status == 404)
                #expect(anthropic.json?["type"] == "error")
                #expect(anthropic.json?["error"]?["type"] == "not_found_error")
            }
            // Every credential and the configured route still serve.
            for slot in gateway.gateway.table.providers["a"]?.credentials ?? [] { #expect(slot.breakerState == .closed) }
            #expect(gateway.gateway.table.providers["c"]?.credentials.first?.breakerState == .closed)
            for _ in 0..<3 { #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200) }
        }
    }

    @Test func aRouteTargetTheVendorDoesNotHaveFailsOverAndCountsAgainstThatTargetOnly() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        let alerts = AlertRecorder()
        try await LiveGateway.run(vendors: [a, c], config: Self.config, observer: RoutingObserver(sink: alerts.record)) { gateway in
            for _ in 0..<4 {
                let result = try await gateway.post("/v1/chat/completions", json: ["model": "typo-route", "messages": [["role": "user", "content": "x"]]])
                #expect(result.status == 200)
                #expect(result.headers.first(name: "x-switchyard-target") == "c/claude-sonnet-4-5")
            }
            // Two 404s opened the misconfigured target's circuit; its keys are untouched and keep serving `smart`.
            #expect(a.requests.filter { $0.body?["model"] == "missing-gpt-5" }.count == 2)
            let typo = try #require(gateway.gateway.table.allTargets.first { $0.name == "a/missing-gpt-5" })
            guard case .open = typo.breakerState else { throw TestFailure("the misconfigured target's circuit is \(typo.breakerState)") }
            for slot in gateway.gateway.table.providers["a"]?.credentials ?? [] { #expect(slot.breakerState == .closed) }
            #expect(try await gateway.post("/v1/chat/completions", json: hello).headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            #expect(alerts.events.contains { if case .targetMisconfigured("a/missing-gpt-5", _) = $0 { true } else { false } })
        }
    }
}
