import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardServer
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite("Alerts, drills and key spreading")
struct DrillAndAlertTests {
    @Test func revocationAndOpenCircuitsArePostedToTheWebhook() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let hooks = SimulatedVendor(name: "hooks", format: .openai)
        a.failEvery(1, with: ResilienceConfigs.serverError)
        let config = ResilienceConfigs.twoTargets(routing: "circuit_breaker: {failures: 1, cooldown: 30s}")
            .replacingOccurrences(of: "keys: [key-b-0]", with: "keys: [revoked-b-0]")
            + "\nalerts:\n  webhook: http://127.0.0.1:{{hooks}}/webhook\n"
        try await LiveGateway.run(vendors: [a, b, hooks], config: config) { gateway in
            var events = hooks.events.makeAsyncIterator()
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 503)
            var received = 0
            while received < 2, let event = await events.next() {
                if event == .requestReceived(path: "/webhook") { received += 1 }
            }
            let types = Set(hooks.hooks.compactMap { $0.body?["type"]?.stringValue })
            #expect(types == ["circuit_opened", "credential_revoked"])
            let revoked = try #require(hooks.hooks.first { $0.body?["type"] == "credential_revoked" }?.body)
            #expect(revoked["provider"] == "b")
            #expect(revoked["credential_index"] == 0)
            #expect(!hooks.hooks.contains { $0.rawBody.contains("revoked-b-0") })
            let opened = try #require(hooks.hooks.first { $0.body?["type"] == "circuit_opened" }?.body)
            #expect(opened["target"] == "a/gpt-4o")
        }
    }

    @Test func faultInjectionFromConfigAndAdminDrivesFailover() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let config = ResilienceConfigs.twoTargets(routing: "circuit_breaker: {failures: 100, cooldown: 30s}") + "\nfaults:\n  a: {kind: overloaded, rate: 1}\n"
        try await LiveGateway.run(vendors: [a, b], config: config) { gateway in
            let admin = ["authorization": "Bearer admin-key-0123456789"]
            let drilled = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(drilled.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            #expect(a.requests.isEmpty)
            // Operators switch the drill off …
            #expect(try await gateway.send(.DELETE, "/admin/faults/a", headers: admin).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", json: hello).headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            // … and on again, at runtime, with another kind.
            let enabled = try await gateway.send(.POST, "/admin/faults", body: #"{"provider":"a","kind":"rate_limited","rate":1}"#, headers: admin)
            #expect(enabled.status == 200)
            #expect(enabled.json?["faults"]?.arrayValue?.first?["kind"] == "rate_limited")
            #expect(try await gateway.post("/v1/chat/completions", json: hello).headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            let bad = try await gateway.send(.POST, "/admin/faults", body: #"{"provider":"nobody","kind":"overloaded"}"#, headers: admin)
            #expect(bad.status == 400)
            let unauthorised = try await gateway.send(.POST, "/admin/faults", body: #"{"provider":"a","kind":"overloaded"}"#)
            #expect(unauthorised.status == 401)
        }
    }

    @Test func keysAreSpreadRoundRobin() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        try await LiveGateway.run(vendors: [a, SimulatedVendor(name: "b", format: .openai)], config: ResilienceConfigs.twoTargets()) { gateway in
            for _ in 0..<10 { _ = try await gateway.post("/v1/chat/completions", json: hello) }
            let keys = a.requests.compactMap { $0.headers["authorization"] }
            #expect(keys.filter { $0 == "Bearer key-a-0" }.count == 5)
            #expect(keys.filter { $0 == "Bearer key-a-1" }.count == 5)
        }
    }

    @Test func leastUsedSendsToTheIdleKey() async throws {
        let gate = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai)
        a.enqueue(.reply(SimulatedReply(text: "held", holdBeforeFinish: gate)))
        let config = ResilienceConfigs.twoTargets().replacingOccurrences(of: "keys: [key-a-0, key-a-1]", with: "keys: [key-a-0, key-a-1]\n    key_selection: least-used")
        try await LiveGateway.run(vendors: [a, SimulatedVendor(name: "b", format: .openai)], config: config) { gateway in
            // One stream holds a key busy; every other request goes to the idle key.
            let (_, held) = try await gateway.openStream("/v1/chat/completions", json: ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]])
            _ = try await held.next()
            let busyKey = try #require(a.requests.first?.headers["authorization"])
            for _ in 0..<4 { _ = try await gateway.post("/v1/chat/completions", json: hello) }
            #expect(a.requests.dropFirst().allSatisfy { $0.headers["authorization"] != busyKey })
            gate.open()
            _ = try await held.all()
        }
    }

    @Test func withoutKeysTheGatewayOnlyListensOnLoopback() throws {
        let open = try ConfigLoader.parse("listen: 0.0.0.0:4000\nproviders:\n  oai: {type: openai, keys: [k]}\n")
        #expect(throws: ConfigError.self) { try GatewayServices(config: open, logger: Logger(label: "test")) }
        let loopback = try ConfigLoader.parse("listen: 127.0.0.1:0\nproviders:\n  oai: {type: openai, keys: [k]}\n")
        let services = try GatewayServices(config: loopback, logger: Logger(label: "test"))
        #expect(services.gateway.table.requiresKeys == false)
        services.clients.shutdownNow()
    }
}
