import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Azure OpenAI over HTTP: Entra ID tokens (one under concurrency, refreshed ahead of expiry, refreshed on a
/// 401), filter annotations, and a wrong deployment name as the target's configuration error.
@Suite("Azure OpenAI")
struct AzureTests {
    static let config = """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          az:
            type: azure
            base_url: http://127.0.0.1:{{az}}
            api_version: 2024-10-21
            entra: {tenant_id: 00000000-0000-0000-0000-000000000000, client_id: app-1, client_secret: entra-secret-value}
            token_url: http://127.0.0.1:{{az}}/oauth/token
          backup: {type: openai, base_url: "http://127.0.0.1:{{backup}}/v1", keys: [key-backup]}
        models:
          gpt: az/gpt-4o-prod
          misdeployed: {targets: [az/missing-deployment, backup/gpt-4o]}
        routing: {attempts: 3, backoff: {base: 1ms, max: 2ms}}
        keys:
          - name: app
            key: test-key
        """

    static let hello: JSONValue = ["model": "gpt", "messages": [["role": "user", "content": "hi"]]]

    @Test func entraTokensAreSharedRefreshedAndRenewedOnA401() async throws {
        let az = SimulatedVendor(name: "az", format: .azure, defaultReply: SimulatedReply(text: "Hello from Azure."))
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [az, SimulatedVendor(name: "backup", format: .openai)], config: Self.config, timeSource: clock) { gateway in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 { group.addTask { try await gateway.post("/v1/chat/completions", json: Self.hello).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 50))
            #expect(az.tokenRequests == 1)
            #expect(az.requests.allSatisfy { $0.headers["authorization"] == "Bearer sim-access-1" && $0.headers["api-key"] == nil })
            #expect(az.requests.first?.path == "/openai/deployments/gpt-4o-prod/chat/completions")

            clock.advance(by: .seconds(3600 - 59))  // inside the refresh margin: a new token first
            let refreshed = try await gateway.post("/v1/chat/completions", json: Self.hello)
            #expect(refreshed.status == 200)
            #expect(az.tokenRequests == 2)

            az.revokeIssuedTokens()  // the token stops working before its time: refreshed once, resent
            let renewed = try await gateway.post("/v1/chat/completions", json: Self.hello)
            #expect(renewed.status == 200)
            #expect(az.tokenRequests == 3)
            #expect(az.requests.last?.headers["authorization"] == "Bearer sim-access-3")
        }
    }

    @Test func streamsLoseTheFilterPreambleAndKeepTheText() async throws {
        let az = SimulatedVendor(name: "az", format: .azure, defaultReply: SimulatedReply(text: "one two three"))
        try await LiveGateway.run(vendors: [az, SimulatedVendor(name: "backup", format: .openai)], config: Self.config) { gateway in
            var body = Self.hello.objectValue!
            body["stream"] = true
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: .object(body))
            let events = try await reader.all()
            #expect(events.first?.json?["id"]?.stringValue?.isEmpty == false)
            #expect(events.compactMap { $0.json?["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "one two three")
            #expect(!events.contains { $0.data.contains("prompt_filter_results") })
            let (_, anthropic) = try await gateway.openStream(
                "/v1/messages", json: ["model": "gpt", "max_tokens": 20, "stream": true, "messages": [["role": "user", "content": "hi"]]])
            #expect(try await anthropic.all().compactMap { $0.json?["delta"]?["text"]?.stringValue }.joined() == "one two three")
        }
    }

    /// A deployment name Azure does not know is the target's misconfiguration: the next target answers and
    /// only that target is counted, not the credential.
    @Test func aWrongDeploymentFailsOverAndCountsAgainstTheTarget() async throws {
        let az = SimulatedVendor(name: "az", format: .azure)
        let backup = SimulatedVendor(name: "backup", format: .openai, defaultReply: SimulatedReply(text: "from backup"))
        try await LiveGateway.run(vendors: [az, backup], config: Self.config) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "misdeployed", "messages": [["role": "user", "content": "hi"]]])
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "backup/gpt-4o")
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let provider = admin.json?["providers"]?.arrayValue?.first { $0["name"] == "az" }
            #expect(provider?["credentials"]?[0]?["state"] == "healthy")
            #expect(provider?["targets"]?.arrayValue?.first { $0["target"] == "az/missing-deployment" }?["last_error_kind"] == "model_not_found")
        }
    }
}
