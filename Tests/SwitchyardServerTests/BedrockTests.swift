import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Bedrock over HTTP, and the seed scenario with three doors to Claude: Anthropic, Vertex, Bedrock.
@Suite("AWS Bedrock")
struct BedrockTests {
    static func config(secret: String = "sim/secret+KEY") -> String {
        """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          anthropic: {type: anthropic, base_url: "http://127.0.0.1:1", keys: [sk-ant-direct]}
        \(GoogleTests.vertexProviderYAML)
          aws:
            type: bedrock
            base_url: http://127.0.0.1:{{aws}}
            region: us-east-1
            aws: {access_key_id: AKIDSIMULATOR, secret_access_key: "\(secret)"}
        models:
          claude:
            strategy: priority
            targets: [anthropic/claude-sonnet-4-5, gcp/claude-sonnet-4-5@20250929, aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0]
          bedrock-only: aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0
        routing:
          attempts: 4
          backoff: {base: 1ms, max: 2ms}
        keys:
          - name: app
            key: test-key
        """
    }

    static func awsVendor(_ reply: SimulatedReply) -> SimulatedVendor {
        let vendor = SimulatedVendor(name: "aws", format: .bedrock, defaultReply: reply)
        vendor.trustAWSCredentials(accessKeyID: "AKIDSIMULATOR", secretAccessKey: "sim/secret+KEY")
        return vendor
    }

    /// Anthropic unreachable (connection refused), Claude on Vertex overloaded (529): Bedrock's Claude answers
    /// every client, streamed and not, tools included.
    @Test func claudeSurvivesLosingTwoOfItsThreeDoors() async throws {
        let gcp = GoogleTests.vertexVendor()
        gcp.failEvery(1, with: .error(status: 529, body: ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]]))
        let aws = Self.awsVendor(SimulatedReply(text: "Claude via Bedrock.", toolCalls: []))
        try await LiveGateway.run(vendors: [gcp, aws], config: Self.config()) { gateway in
            let target = "aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            let openAI = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": "hi"]]])
            #expect(openAI.status == 200)
            #expect(openAI.headers.first(name: "x-switchyard-target") == target)
            #expect(openAI.json?["choices"]?[0]?["message"]?["content"] == "Claude via Bedrock.")
            #expect((openAI.json?["usage"]?["completion_tokens"]?.intValue ?? 0) > 0)

            let (head, reader) = try await gateway.openStream(
                "/v1/messages", json: ["model": "claude", "max_tokens": 100, "stream": true, "messages": [["role": "user", "content": "hi"]]], key: nil,
                headers: ["x-api-key": "test-key"])
            #expect(head.headers.first(name: "x-switchyard-target") == target)
            let events = try await reader.all()
            #expect(events.compactMap { $0.json?["delta"]?["text"]?.stringValue }.joined() == "Claude via Bedrock.")
            #expect(events.last?.event == "message_stop")
            #expect((events.first { $0.event == "message_delta" }?.json?["usage"]?["output_tokens"]?.intValue ?? 0) > 0)

            let (_, openAIStream) = try await gateway.openStream("/v1/chat/completions", json: ["model": "claude", "stream": true, "messages": [["role": "user", "content": "hi"]]])
            #expect(try await openAIStream.all().compactMap { $0.json?["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Claude via Bedrock.")
            #expect(aws.requests.allSatisfy { $0.path.contains("converse") && ($0.headers["authorization"] ?? "").hasPrefix("AWS4-HMAC-SHA256 ") })
        }
    }

    @Test func toolsThroughBedrockForBothDialects() async throws {
        let aws = Self.awsVendor(SimulatedReply(text: "", toolCalls: [(name: "get_weather", arguments: #"{"city":"Paris"}"#)]))
        try await LiveGateway.run(vendors: [GoogleTests.vertexVendor(), aws], config: Self.config()) { gateway in
            let tools: JSONValue = [["name": "get_weather", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]]
            let (_, reader) = try await gateway.openStream(
                "/v1/messages", json: ["model": "bedrock-only", "max_tokens": 100, "stream": true, "tools": tools, "messages": [["role": "user", "content": "Paris?"]]],
                key: nil, headers: ["x-api-key": "test-key"])
            let events = try await reader.all()
            #expect(events.first { $0.json?["content_block"]?["type"] == "tool_use" }?.json?["content_block"]?["name"] == "get_weather")
            #expect(events.compactMap { $0.json?["delta"]?["partial_json"]?.stringValue }.joined() == #"{"city":"Paris"}"#)
            #expect(events.first { $0.event == "message_delta" }?.json?["delta"]?["stop_reason"] == "tool_use")
            #expect(aws.requests.last?.body?["toolConfig"]?["tools"]?[0]?["toolSpec"]?["name"] == "get_weather")
        }
    }

    /// A wrong secret: the simulator recomputes the signature, answers 403 InvalidSignatureException, and the
    /// credential is taken out as auth_failed with a message that names the exception, never the secret.
    @Test func aBadSignatureIsRefusedAndTheCredentialRevoked() async throws {
        let aws = Self.awsVendor(SimulatedReply(text: "never"))
        try await LiveGateway.run(vendors: [GoogleTests.vertexVendor(), aws], config: Self.config(secret: "wrong/secret+VALUE")) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "bedrock-only", "messages": [["role": "user", "content": "hi"]]])
            #expect(result.status == 503)
            #expect(!result.body.contains("wrong/secret"))
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let credential = admin.json?["providers"]?.arrayValue?.first { $0["name"] == "aws" }?["credentials"]?[0]
            #expect(credential?["state"] == "revoked")
            // Why, in the provider's words, without the secret.
            let reason = credential?["disabled_reason"]?.stringValue ?? ""
            #expect(reason.contains("InvalidSignatureException") || reason.lowercased().contains("signature"), "\(reason)")
            #expect(!reason.contains("wrong/secret"))
            #expect(aws.requestCount == 1)
        }
    }
}
