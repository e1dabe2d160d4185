import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite("Config reload")
struct ReloadTests {
    @Test func reloadSwapsRoutesAndRestoresCredentialsAtomically() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let initial = ResilienceConfigs.twoTargets().replacingOccurrences(of: "keys: [key-a-0, key-a-1]", with: "keys: [revoked-a-0, key-a-1]")
        try await LiveGateway.run(vendors: [a, b], config: initial, reloadable: true) { gateway in
            let admin = ["authorization": "Bearer admin-key-0123456789"]
            #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200)
            func keyState() async throws -> JSONValue? {
                let report = try await gateway.send(.GET, "/admin/providers", headers: admin)
                return report.json?["providers"]?.arrayValue?.first { $0["name"] == "a" }?["credentials"]?.arrayValue?.first?["state"]
            }
            #expect(try await keyState() == "revoked")

            // A broken edit is refused and the running config stays.
            try gateway.rewriteConfig(initial.replacingOccurrences(of: "targets: [a/gpt-4o, b/gpt-4o]", with: "targets: [a/gpt-4o, ghost/x]"))
            let refused = try await gateway.send(.POST, "/admin/reload", headers: admin)
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("unknown provider 'ghost'") == true)
            #expect(try await gateway.post("/v1/chat/completions", json: hello).headers.first(name: "x-switchyard-target") == "a/gpt-4o")

            // A good edit takes effect for the next request; health starts fresh.
            try gateway.rewriteConfig(initial.replacingOccurrences(of: "targets: [a/gpt-4o, b/gpt-4o]", with: "targets: [b/gpt-4o, a/gpt-4o]"))
            let reloaded = try await gateway.send(.POST, "/admin/reload", headers: admin)
            #expect(reloaded.status == 200)
            #expect(reloaded.json?["status"] == "reloaded")
            #expect(try await keyState() == "healthy")
            #expect(try await gateway.post("/v1/chat/completions", json: hello).headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            #expect(try await gateway.send(.POST, "/admin/reload").status == 401)
        }
    }
}

@Suite("Reload keeps the open-gateway guard")
struct ReloadGuardTests {
    static let config = """
        listen: 0.0.0.0:0
        admin_key: admin-key-0123456789
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k]}
        models:
          smart: a/gpt-4o
        keys:
          - {name: app, key: test-key}
        """

    @Test func aConfigWithoutKeysIsRefusedWhileListeningBeyondLoopback() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a], config: Self.config, reloadable: true) { gateway in
            let admin = ["authorization": "Bearer admin-key-0123456789"]
            let withoutKeys = Self.config.components(separatedBy: "keys:\n  - {name: app").first!
            try gateway.rewriteConfig(withoutKeys)
            let refused = try await gateway.send(.POST, "/admin/reload", headers: admin)
            #expect(refused.status == 400)
            #expect(refused.body.contains("loopback"))
            // Still closed: a request without a key is refused.
            #expect(try await gateway.post("/v1/chat/completions", json: hello, key: nil).status == 401)
            // A loopback listen in the new file does not help: the gateway is bound where it was started.
            try gateway.rewriteConfig(withoutKeys.replacingOccurrences(of: "listen: 0.0.0.0:0", with: "listen: 127.0.0.1:0"))
            #expect(try await gateway.send(.POST, "/admin/reload", headers: admin).status == 400)
            #expect(try await gateway.post("/v1/chat/completions", json: hello, key: nil).status == 401)
        }
    }
}
