import AsyncHTTPClient
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite("Per-provider timeouts apply to that provider only, and follow reloads")
struct ProviderTimeoutTests {
    static func config(aFirstByte: String, bFirstByte: String) -> String {
        """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k], timeout: {first_byte: \(aFirstByte)}}
          b: {type: openai, base_url: "http://127.0.0.1:{{b}}/v1", keys: [k], timeout: {first_byte: \(bFirstByte)}}
        models:
          on-a: a/gpt-4o
          on-b: b/gpt-4o
        routing: {attempts: 1}
        """
    }

    static func streamRequest(_ model: String) -> JSONValue {
        ["model": .string(model), "stream": true, "messages": [["role": "user", "content": "x"]]]
    }

    @Test func eachProviderKeepsItsOwnIdleReadTimeoutAcrossAReload() async throws {
        let silent = SimulatorGate()
        let hang = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai, defaultReply: SimulatedReply(text: "one two", holdBeforeFinish: silent))
        try await LiveGateway.run(vendors: [a, b], config: Self.config(aFirstByte: "60s", bFirstByte: "5s"), reloadable: true) { gateway in
            // b's stream goes silent mid-way: b's own 5s cuts it, not a's 60s (roomy: tests run in parallel on 2 cores).
            let (_, cut) = try await gateway.openStream("/v1/chat/completions", json: Self.streamRequest("on-b"), key: nil)
            let events = try await withTestTimeout(.seconds(30)) { try await cut.all() }
            #expect(events.last?.json?["error"]?["type"] == "timeout_error")

            // Swap the timeouts by reload: now b waits 60s and a gives up after 5s.
            try gateway.rewriteConfig(Self.config(aFirstByte: "5s", bFirstByte: "60s"))
            #expect(try await gateway.send(.POST, "/admin/reload", headers: ["authorization": "Bearer admin-key-0123456789"]).status == 200)
            let (_, held) = try await gateway.openStream("/v1/chat/completions", json: Self.streamRequest("on-b"), key: nil)
            _ = try await held.next()
            a.failEvery(1, with: .hang(release: hang))
            let timedOut = try await withTestTimeout(.seconds(30)) {
                try await gateway.post("/v1/chat/completions", json: ["model": "on-a", "messages": [["role": "user", "content": "x"]]], key: nil)
            }
            #expect(timedOut.status == 503)
            #expect(timedOut.body.contains("a/gpt-4o (key #0): timeout"))
            // b's stream has been silent at least as long as a's timeout, and is still alive.
            silent.open()
            #expect(try await held.all().last?.data == "[DONE]")
            hang.open()
        }
    }
}
