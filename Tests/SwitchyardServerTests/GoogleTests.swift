import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Vertex AI service accounts and Gemini's thought signatures, over real HTTP against the Gemini and
/// Vertex simulators.
@Suite("Google: Gemini and Vertex AI")
struct GoogleTests {
    static let vector = try! Fixtures.json("vertex/service_account_jwt_vector.json")
    static let email = vector["service_account_json"]?["client_email"]?.stringValue ?? ""

    static func vertexVendor(_ reply: SimulatedReply? = nil) -> SimulatedVendor {
        let vendor = SimulatedVendor(name: "gcp", format: .vertex, defaultReply: reply)
        vendor.trustServiceAccount(email: email, publicKeyPEM: vector["public_key_pem"]?.stringValue ?? "")
        return vendor
    }

    /// Provider `gcp`: the Vertex simulator, with the test service account.
    static let vertexProviderYAML = """
          gcp:
            type: vertex
            base_url: http://127.0.0.1:{{gcp}}
            project: test-project-123
            location: us-east5
            service_account: ${file:\(AdapterCase.serviceAccountFile)}
            token_url: http://127.0.0.1:{{gcp}}/oauth/token
        """

    static let config = """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
        \(vertexProviderYAML)
          backup:
            type: openai
            base_url: http://127.0.0.1:{{backup}}/v1
            keys: [key-backup]
        models:
          gemini: gcp/gemini-2.5-flash
          resilient: {targets: [gcp/gemini-2.5-flash, backup/gpt-4o]}
        routing:
          attempts: 3
          backoff: {base: 1ms, max: 2ms}
        keys:
          - name: app
            key: test-key
        """

    static let hello: JSONValue = ["model": "gemini", "messages": [["role": "user", "content": "hi"]]]

    @Test func fiftyConcurrentRequestsShareOneServiceAccountToken() async throws {
        let gcp = Self.vertexVendor(SimulatedReply(text: "ok"))
        let backup = SimulatedVendor(name: "backup", format: .openai)
        try await LiveGateway.run(vendors: [gcp, backup], config: Self.config) { gateway in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 { group.addTask { try await gateway.post("/v1/chat/completions", json: Self.hello).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 50))
            #expect(gcp.tokenRequests == 1)
            #expect(gcp.requests.count == 50)
            #expect(gcp.requests.allSatisfy { $0.headers["authorization"] == "Bearer sim-access-1" })
            #expect(gcp.requests.first?.path == "/v1/projects/test-project-123/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent")
            #expect(backup.requestCount == 0)
        }
    }

    /// google-auth's rule: a token is stale 3 min 45 s before it expires, and a new one is fetched first.
    @Test func theTokenIsRefreshedAheadOfExpiry() async throws {
        let gcp = Self.vertexVendor()
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [gcp, SimulatedVendor(name: "backup", format: .openai)], config: Self.config, timeSource: clock) { gateway in
            let first = try await gateway.post("/v1/chat/completions", json: Self.hello)
            #expect(first.status == 200)
            clock.advance(by: .seconds(3600 - 226))
            let second = try await gateway.post("/v1/chat/completions", json: Self.hello)
            #expect(second.status == 200)
            #expect(gcp.tokenRequests == 1)
            clock.advance(by: .seconds(2))
            let third = try await gateway.post("/v1/chat/completions", json: Self.hello)
            #expect(third.status == 200)
            #expect(gcp.tokenRequests == 2)
            #expect(gcp.requests.last?.headers["authorization"] == "Bearer sim-access-2")
        }
    }

    /// A deleted key: the API refuses the token, the refresh is refused (`invalid_grant`), the credential is
    /// taken out of rotation and the route's next target answers. No secret reaches the client.
    @Test func aRevokedServiceAccountIsTakenOutOfRotation() async throws {
        let gcp = Self.vertexVendor()
        let backup = SimulatedVendor(name: "backup", format: .openai, defaultReply: SimulatedReply(text: "from backup"))
        try await LiveGateway.run(vendors: [gcp, backup], config: Self.config) { gateway in
            var request = Self.hello.objectValue!
            request["model"] = "resilient"
            let before = try await gateway.post("/v1/chat/completions", json: .object(request))
            #expect(before.headers.first(name: "x-switchyard-target") == "gcp/gemini-2.5-flash")
            gcp.deleteServiceAccountKey(email: Self.email)
            gcp.revokeIssuedTokens()
            let after = try await gateway.post("/v1/chat/completions", json: .object(request))
            #expect(after.status == 200)
            #expect(after.headers.first(name: "x-switchyard-target") == "backup/gpt-4o")
            #expect(gcp.tokenRequests == 2)
            // Out of rotation: the next request goes straight to the backup, Vertex sees nothing.
            let vertexCalls = gcp.requestCount
            let next = try await gateway.post("/v1/chat/completions", json: .object(request))
            #expect(next.headers.first(name: "x-switchyard-target") == "backup/gpt-4o")
            #expect(gcp.requestCount == vertexCalls)
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let credential = admin.json?["providers"]?.arrayValue?.first { $0["name"] == "gcp" }?["credentials"]?[0]
            #expect(credential?["state"] == "revoked")
            #expect(!admin.body.contains("PRIVATE KEY") && !after.body.contains("PRIVATE KEY"))
        }
    }

    /// The failure names the provider and the token endpoint's reason, never the key.
    @Test func aRefusedGrantNamesTheProviderAndTheReason() async throws {
        let gcp = Self.vertexVendor()
        try await LiveGateway.run(vendors: [gcp], config: "listen: 127.0.0.1:0\nproviders: {}\n") { gateway in
            let port = try #require(gateway.vendorPorts["gcp"])
            let keyText = try #require(Self.vector["service_account_json"]).jsonString
            let credential = ServiceAccountCredential(
                key: try ServiceAccountKey(json: keyText), tokenURL: "http://127.0.0.1:\(port)/oauth/token", providerName: "gcp",
                transport: HTTPClientTransport(client: gateway.client))
            var upstream = UpstreamRequest(url: "http://127.0.0.1:\(port)/v1/x")
            try await credential.authorize(&upstream)
            #expect(upstream.headers["authorization"] == "Bearer sim-access-1")
            gcp.deleteServiceAccountKey(email: Self.email)
            await credential.invalidate()
            do {
                try await credential.authorize(&upstream)
                Issue.record("a deleted key must not get a token")
            } catch let error as UpstreamFailure {
                #expect(error.kind == .authFailed)
                #expect(error.message.contains("provider 'gcp'") && error.message.contains("invalid_grant: Invalid JWT Signature."))
                #expect(!error.message.contains("PRIVATE"))
            }
        }
    }
}
