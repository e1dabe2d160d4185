import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// `POST /v1/messages/count_tokens`: each vendor's own count endpoint, failover between them, an estimate
/// (marked as such) where no target counts.
@Suite("Anthropic token counting")
struct CountTokensTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          anthropic:
            type: anthropic
            base_url: http://127.0.0.1:{{anthropic}}
            keys: [sk-ant-direct]
        \(GoogleTests.vertexProviderYAML)
          aws:
            type: bedrock
            base_url: http://127.0.0.1:{{aws}}
            region: us-east-1
            aws: {access_key_id: AKIDSIMULATOR, secret_access_key: "sim/secret+KEY"}
          gem:
            type: gemini
            base_url: http://127.0.0.1:{{gem}}
            keys: [sim-gemini-key]
          oai:
            type: openai
            base_url: http://127.0.0.1:{{oai}}/v1
            keys: [sk-oai]
        models:
          claude:
            targets: [anthropic/claude-sonnet-4-5, gcp/claude-sonnet-4-5@20250929, aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0]
          gpt: oai/gpt-4o
          gpt-then-gemini:
            targets: [oai/gpt-4o, gem/gemini-2.5-flash]
        routing:
          attempts: 4
          backoff: {base: 1ms, max: 2ms}
        keys:
          - name: app
            key: test-key
        """

    static func vendors() -> [SimulatedVendor] {
        [
            SimulatedVendor(name: "anthropic", format: .anthropic), GoogleTests.vertexVendor(), BedrockTests.awsVendor(SimulatedReply(text: "")),
            SimulatedVendor(name: "gem", format: .gemini), SimulatedVendor(name: "oai", format: .openai),
        ]
    }

    static let request: JSONValue = [
        "model": "claude", "system": "Be brief please",
        "tools": [["name": "get_weather", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]],
        "messages": [["role": "user", "content": "Hello there my friend"]],
    ]

    func count(_ gateway: LiveGateway.Context, _ body: JSONValue, headers: [String: String] = [:]) async throws -> (tokens: Int?, source: String?, status: Int) {
        let result = try await gateway.post("/v1/messages/count_tokens", json: body, headers: headers)
        return (result.json?["input_tokens"]?.intValue, result.headers.first(name: "x-switchyard-token-count"), result.status)
    }

    @Test func anthropicCountsNatively() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let counted = try await count(gateway, Self.request, headers: ["anthropic-beta": "token-counting-2024-11-01", "anthropic-version": "2023-06-01"])
            let sent = try #require(vendors[0].requests.last)
            #expect(counted.status == 200 && counted.tokens == SimulatorServer.wordCount(sent.body ?? .null) && counted.source == "anthropic/claude-sonnet-4-5")
            #expect(counted.tokens == 8)  // "Be brief please", "Hello there my friend", the tool name.
            #expect(sent.path == "/v1/messages/count_tokens")
            #expect(sent.headers["anthropic-beta"] == "token-counting-2024-11-01" && sent.headers["x-api-key"] == "sk-ant-direct")
            let body = try #require(sent.body?.objectValue)
            #expect(Set(body.keys) == ["model", "system", "tools", "messages"])
            #expect(body["model"] == "claude-sonnet-4-5")
        }
    }

    /// Anthropic's key revoked, then Vertex overloaded: the count comes from the next door to Claude, each
    /// in its vendor's shape (Vertex names the model in the body; Bedrock's request is SigV4-signed).
    @Test func countsFailOverAcrossClaudeVendors() async throws {
        let vendors = Self.vendors()
        vendors[0].enqueue(ClaudeFailoverTests.revokedKey)
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let viaVertex = try await count(gateway, Self.request)
            let vertexBody = try #require(vendors[1].requests.last { $0.path.contains("count-tokens") }?.body)
            #expect(viaVertex.tokens == SimulatorServer.wordCount(vertexBody) && viaVertex.source == "gcp/claude-sonnet-4-5@20250929")
            #expect(vertexBody["model"] == "claude-sonnet-4-5@20250929" && vertexBody["anthropic_version"] == "vertex-2023-10-16")
            #expect(vertexBody["max_tokens"] == nil)

            vendors[1].enqueue(.error(status: 529, body: ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]]))
            let viaBedrock = try await count(gateway, Self.request)
            let bedrockRequest = try #require(vendors[2].requests.last)
            #expect(viaBedrock.tokens == SimulatorServer.wordCount(bedrockRequest.body ?? .null) && viaBedrock.source == "aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0")
            #expect(bedrockRequest.path.hasSuffix("/count-tokens"))
            #expect(bedrockRequest.body?["input"]?["converse"]?["messages"]?[0]?["content"]?[0]?["text"] == "Hello there my friend")
        }
    }

    /// OpenAI has no count endpoint: skipped for Gemini's, and where no target counts, an estimate.
    @Test func otherVendorsCountOrEstimate() async throws {
        let vendors = Self.vendors()
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            var body = Self.request.objectValue!
            body["model"] = "gpt-then-gemini"
            let viaGemini = try await count(gateway, .object(body))
            let geminiBody = try #require(vendors[3].requests.last?.body)
            #expect(viaGemini.tokens == SimulatorServer.wordCount(geminiBody) && viaGemini.source == "gem/gemini-2.5-flash")
            #expect(vendors[3].requests.last?.path.hasSuffix(":countTokens") == true)
            #expect(geminiBody["generateContentRequest"]?["model"] == "models/gemini-2.5-flash")

            body["model"] = "gpt"
            let estimated = try await count(gateway, .object(body))
            #expect(estimated.status == 200 && estimated.source == "estimate" && (estimated.tokens ?? 0) > 0)
            #expect(vendors[4].requests.isEmpty)

            let unknown = try await gateway.post("/v1/messages/count_tokens", json: ["model": "nope", "messages": [["role": "user", "content": "x"]]])
            #expect(unknown.status == 404 && unknown.json?["type"] == "error")
        }
    }

    /// The vendor refusing the request itself is the client's answer, not an estimate.
    @Test func aVendorRefusalIsTheAnswer() async throws {
        let vendors = Self.vendors()
        vendors[0].enqueue(.error(status: 400, body: ["type": "error", "error": ["type": "invalid_request_error", "message": "messages: roles must alternate"]]))
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let result = try await gateway.post("/v1/messages/count_tokens", json: Self.request)
            #expect(result.status == 400 && result.json?["error"]?["type"] == "invalid_request_error")
            #expect(vendors[1].requests.isEmpty && vendors[2].requests.isEmpty)
        }
    }
}
