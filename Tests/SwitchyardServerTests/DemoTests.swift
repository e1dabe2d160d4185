import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite("The demo as users run it")
struct DemoTests {
    @Test func demoConfigServesAndFailsOverLive() async throws {
        let vendors = DemoEnvironment.makeVendors(latency: false)
        let keyFile = try DemoEnvironment.writeServiceAccountFile()
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let config = DemoEnvironment.config(port: 0, serviceAccountPath: keyFile) { "{{\($0)}}" }
        try await LiveGateway.run(vendors: vendors, config: config) { gateway in
            let request: JSONValue = ["model": "smart", "messages": [["role": "user", "content": "Hello!"]]]
            let first = try await gateway.post("/v1/chat/completions", json: request, key: DemoEnvironment.key)
            let second = try await gateway.post("/v1/chat/completions", json: request, key: DemoEnvironment.key)
            #expect(first.status == 200 && second.status == 200)
            #expect(first.headers.first(name: "x-switchyard-target") == "flaky/gpt-4o")
            // Every other request to the flaky simulator fails: the gateway answers from the next target.
            #expect(second.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")
            #expect(second.headers.first(name: "x-switchyard-attempts") == "2")
            let anthropic = try await gateway.post("/v1/messages", json: ["model": "fast", "max_tokens": 50, "messages": [["role": "user", "content": "Hi"]]], key: nil, headers: ["x-api-key": DemoEnvironment.key])
            #expect(anthropic.json?["content"]?.arrayValue?.first?["text"] == "Hello from the simulated OpenAI provider, streamed token by token.")
        }
    }
}

extension DemoTests {
    /// The demo's seed scenario, as its banner tells users to run it: the simulated Anthropic revokes every
    /// key and route `claude` keeps answering through Vertex AI, for both dialects, streams included.
    @Test func demoClaudeSurvivesTheLossOfAnthropicAccess() async throws {
        let vendors = DemoEnvironment.makeVendors(latency: false)
        let keyFile = try DemoEnvironment.writeServiceAccountFile()
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let config = DemoEnvironment.config(port: 0, serviceAccountPath: keyFile) { "{{\($0)}}" }
        try await LiveGateway.run(vendors: vendors, config: config) { gateway in
            let openAI: JSONValue = ["model": "claude", "messages": [["role": "user", "content": "Hello!"]]]
            let before = try await gateway.post("/v1/chat/completions", json: openAI, key: DemoEnvironment.key)
            #expect(before.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")

            let claudePort = try #require(gateway.vendorPorts["claude"])
            var revoke = HTTPClientRequest(url: "http://127.0.0.1:\(claudePort)/simulator/revoke-keys")
            revoke.method = .POST
            #expect(try await gateway.client.execute(revoke, timeout: .seconds(10)).status == .ok)

            let vertexTarget = "vertex/claude-sonnet-4-5@20250929"
            let after = try await gateway.post("/v1/chat/completions", json: openAI, key: DemoEnvironment.key)
            #expect(after.status == 200)
            #expect(after.headers.first(name: "x-switchyard-target") == vertexTarget)
            let messages: JSONValue = ["model": "claude", "max_tokens": 64, "stream": true, "messages": [["role": "user", "content": "Hello!"]]]
            let (head, reader) = try await gateway.openStream("/v1/messages", json: messages, key: nil, headers: ["x-api-key": DemoEnvironment.key])
            #expect(head.headers.first(name: "x-switchyard-target") == vertexTarget)
            let text = try await reader.all().compactMap { $0.json?["delta"]?["text"]?.stringValue }.joined()
            #expect(text == "Hello from the simulated Vertex AI: the same models, through Google Cloud.")

            let gemini = try await gateway.post("/v1/chat/completions", json: ["model": "gemini", "messages": [["role": "user", "content": "Hi"]]], key: DemoEnvironment.key)
            #expect(gemini.headers.first(name: "x-switchyard-target") == "gemini/gemini-2.5-flash")
        }
    }
}

@Suite struct SimulatorMemoryTests {
    @Test func demoVendorsKeepABoundedWindowOfRequests() async throws {
        let vendors = DemoEnvironment.makeVendors(latency: false)
        let flaky = try #require(vendors.first { $0.name == "flaky" })
        try await LiveGateway.run(vendors: [flaky], config: "providers:\n  f: {type: openai, base_url: 'http://127.0.0.1:{{flaky}}/v1', keys: [k]}\nrouting: {attempts: 1}\n") { gateway in
            for _ in 0..<(3 * DemoEnvironment.demoRetainedRequests) {
                _ = try await gateway.post("/v1/chat/completions", json: ["model": "f/m", "messages": [["role": "user", "content": "hi"]]], key: nil)
            }
        }
        #expect(flaky.requestCount == 3 * DemoEnvironment.demoRetainedRequests)
        #expect(flaky.requests.count < 2 * DemoEnvironment.demoRetainedRequests)
        #expect(flaky.requests.count >= DemoEnvironment.demoRetainedRequests)
    }
}
