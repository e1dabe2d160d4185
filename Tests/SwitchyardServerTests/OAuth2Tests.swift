import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite("OAuth2 bearer credentials")
struct OAuth2Tests {
    static let config = """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          claude:
            type: anthropic
            base_url: http://127.0.0.1:{{claude}}
            oauth:
              token_url: http://127.0.0.1:{{claude}}/oauth/token
              client_id: switchyard
              client_secret: s3cret
              scope: api
        models:
          claude: claude/claude-sonnet-4-5
        routing:
          attempts: 2
        keys:
          - name: app
            key: test-key
        """

    @Test func fiftyConcurrentRequestsShareOneTokenRequest() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic, defaultReply: SimulatedReply(text: "ok"))
        try await LiveGateway.run(vendors: [claude], config: Self.config) { gateway in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": .string("hi \(index)")]]]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 50))
            #expect(claude.tokenRequests == 1)
            #expect(claude.requests.count == 50)
            #expect(claude.requests.allSatisfy { $0.headers["authorization"] == "Bearer sim-access-1" && $0.headers["x-api-key"] == nil })
        }
    }

    @Test func anExpiredTokenIsRefreshedBeforeUse() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        claude.configureTokens(lifetimeSeconds: 600)
        try await LiveGateway.run(vendors: [claude], config: Self.config) { gateway in
            let port = try #require(gateway.vendorPorts["claude"])
            let clock = ManualTimeSource()
            let transport = HTTPClientTransport(client: gateway.client)
            let credential = OAuth2Credential(
                config: OAuth2Config(
                    tokenURL: "http://127.0.0.1:\(port)/oauth/token", clientID: nil, clientSecret: nil, scope: nil, grant: .refreshToken("rt-1")),
                transport: transport, timeSource: clock)
            var request = UpstreamRequest(url: "http://127.0.0.1:\(port)/v1/messages")
            try await credential.authorize(&request)
            #expect(request.headers["authorization"] == "Bearer sim-access-1")
            clock.advance(by: .seconds(500))
            try await credential.authorize(&request)
            #expect(claude.tokenRequests == 1)
            // Within the refresh margin before expiry: a new token is fetched before the old one is used.
            clock.advance(by: .seconds(50))
            try await credential.authorize(&request)
            #expect(claude.tokenRequests == 2)
            #expect(request.headers["authorization"] == "Bearer sim-access-2")
        }
    }

    @Test func aRejectedGrantMakesTheCredentialAuthFailed() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        claude.configureTokens(rejectGrants: true)
        try await LiveGateway.run(vendors: [claude], config: Self.config) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": "hi"]]])
            #expect(result.status == 503)
            #expect(result.json?["error"]?["message"]?.stringValue?.contains("auth_failed") == true)
            #expect(!result.body.contains("s3cret"))
            #expect(claude.requests.isEmpty)
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let credential = admin.json?["providers"]?.arrayValue?.first?["credentials"]?.arrayValue?.first
            #expect(credential?["state"] == "revoked")
            #expect(credential?["last_error_kind"] == "auth_failed")
        }
    }

    /// A 401 may only mean the token went stale: it is refreshed once and the request sent again, so the
    /// client never sees it.
    @Test func aTokenTheAPIRejectsIsRefreshedAndTheRequestResentOnce() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [claude], config: Self.config, timeSource: clock) { gateway in
            let request: JSONValue = ["model": "claude", "messages": [["role": "user", "content": "hi"]]]
            let first = try await gateway.post("/v1/chat/completions", json: request)
            #expect(first.status == 200)
            claude.revokeIssuedTokens()
            let second = try await gateway.post("/v1/chat/completions", json: request)
            #expect(second.status == 200)
            #expect(claude.tokenRequests == 2)
            #expect(claude.requests.count == 3)
            #expect(claude.requests.last?.headers["authorization"] == "Bearer sim-access-2")
        }
    }

    /// When the refreshed token is refused too (grants rejected), the credential is disabled until a probe.
    @Test func aCredentialWhoseRefreshFailsAfterA401IsDisabledUntilAProbe() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [claude], config: Self.config, timeSource: clock) { gateway in
            let request: JSONValue = ["model": "claude", "messages": [["role": "user", "content": "hi"]]]
            #expect(try await gateway.post("/v1/chat/completions", json: request).status == 200)
            claude.revokeIssuedTokens()
            claude.configureTokens(rejectGrants: true)
            #expect(try await gateway.post("/v1/chat/completions", json: request).status == 503)
            #expect(claude.tokenRequests == 2)
            // Disabled until a probe: no traffic goes to it during the cooldown …
            #expect(try await gateway.post("/v1/chat/completions", json: request).status == 503)
            #expect(claude.requests.count == 2)
            // … then one probe fetches a fresh token, succeeds, and the credential is healthy again.
            claude.configureTokens(rejectGrants: false)
            clock.advance(by: .seconds(31))
            let probe = try await gateway.post("/v1/chat/completions", json: request)
            #expect(probe.status == 200)
            #expect(claude.tokenRequests == 3)
            #expect(claude.requests.last?.headers["authorization"] == "Bearer sim-access-3")
        }
    }

    @Test func everyRequestWaitingOnAFailedRefreshGetsTheFailure() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        claude.configureTokens(rejectGrants: true)
        try await LiveGateway.run(vendors: [claude], config: Self.config) { gateway in
            let port = try #require(gateway.vendorPorts["claude"])
            let credential = OAuth2Credential(
                config: OAuth2Config(
                    tokenURL: "http://127.0.0.1:\(port)/oauth/token", clientID: nil, clientSecret: nil, scope: nil, grant: .clientCredentials),
                transport: HTTPClientTransport(client: gateway.client))
            for _ in 0..<20 {
                let kinds = try await withTestTimeout(.seconds(20)) {
                    await withTaskGroup(of: FailureKind?.self) { group in
                        for _ in 0..<16 {
                            group.addTask {
                                var request = UpstreamRequest(url: "http://127.0.0.1:\(port)/v1/messages")
                                do {
                                    try await credential.authorize(&request)
                                    return nil
                                } catch {
                                    return (error as? UpstreamFailure)?.kind
                                }
                            }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                }
                #expect(kinds == Array(repeating: .authFailed, count: 16))
            }
        }
    }
}
