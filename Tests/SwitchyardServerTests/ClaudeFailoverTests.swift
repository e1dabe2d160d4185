import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// The scenario Switchyard exists for: Anthropic's key starts answering 401 and the same Claude model keeps
/// answering through Vertex AI, for OpenAI- and Anthropic-dialect clients, streams included, with nothing
/// changed in the applications.
@Suite("Claude survives the loss of Anthropic access")
struct ClaudeFailoverTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          anthropic:
            type: anthropic
            base_url: http://127.0.0.1:{{anthropic}}
            keys: [sk-ant-direct]
        \(GoogleTests.vertexProviderYAML)
        models:
          claude:
            strategy: priority
            targets: [anthropic/claude-sonnet-4-5, gcp/claude-sonnet-4-5@20250929]
        routing:
          attempts: 3
          backoff: {base: 1ms, max: 2ms}
        keys:
          - name: app
            key: test-key
        """

    static let revokedKey: SimulatorScenario = .error(
        status: 401, body: ["type": "error", "error": ["type": "authentication_error", "message": "invalid x-api-key"]])

    @Test func everyDialectKeepsWorkingThroughVertexWhenAnthropicRevokesTheKey() async throws {
        let anthropic = SimulatedVendor(name: "anthropic", format: .anthropic, defaultReply: SimulatedReply(text: "direct answer"))
        let gcp = GoogleTests.vertexVendor(SimulatedReply(text: "answer via Vertex"))
        try await LiveGateway.run(vendors: [anthropic, gcp], config: Self.config) { gateway in
            let openAI: JSONValue = ["model": "claude", "messages": [["role": "user", "content": "hi"]]]
            let messages: JSONValue = ["model": "claude", "max_tokens": 100, "messages": [["role": "user", "content": "hi"]]]
            let direct = try await gateway.post("/v1/chat/completions", json: openAI)
            #expect(direct.headers.first(name: "x-switchyard-target") == "anthropic/claude-sonnet-4-5")

            anthropic.failEvery(1, with: Self.revokedKey)  // the vendor revokes the access method
            let target = "gcp/claude-sonnet-4-5@20250929"

            let completion = try await gateway.post("/v1/chat/completions", json: openAI)
            #expect(completion.status == 200)
            #expect(completion.headers.first(name: "x-switchyard-target") == target)
            #expect(completion.json?["choices"]?[0]?["message"]?["content"] == "answer via Vertex")

            let message = try await gateway.post("/v1/messages", json: messages)
            #expect(message.status == 200)
            #expect(message.headers.first(name: "x-switchyard-target") == target)
            #expect(message.json?["content"]?[0]?["text"] == "answer via Vertex")

            var streamed = openAI.objectValue!
            streamed["stream"] = true
            let (openAIHead, openAIStream) = try await gateway.openStream("/v1/chat/completions", json: .object(streamed))
            #expect(openAIHead.headers.first(name: "x-switchyard-target") == target)
            let chunks = try await openAIStream.all()
            #expect(chunks.compactMap { $0.json?["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "answer via Vertex")
            #expect(chunks.last?.data == "[DONE]")

            var streamedMessages = messages.objectValue!
            streamedMessages["stream"] = true
            let (anthropicHead, anthropicStream) = try await gateway.openStream("/v1/messages", json: .object(streamedMessages))
            #expect(anthropicHead.headers.first(name: "x-switchyard-target") == target)
            let events = try await anthropicStream.all()
            #expect(events.compactMap { $0.json?["delta"]?["text"]?.stringValue }.joined() == "answer via Vertex")
            #expect(events.last?.event == "message_stop")

            // Vertex got the Messages body its way: no model in it, Vertex's version, the right path.
            let claudeCalls = gcp.requests.filter { $0.path.contains("/publishers/anthropic/models/claude-sonnet-4-5@20250929:") }
            #expect(claudeCalls.count == 4)
            #expect(claudeCalls.allSatisfy { $0.body?["model"] == nil && $0.body?["anthropic_version"] == "vertex-2023-10-16" })
            #expect(claudeCalls.filter { $0.path.hasSuffix(":streamRawPredict") }.count == 2)
            // Anthropic was asked once after the revocation, then left alone as revoked.
            #expect(anthropic.requestCount == 2)
        }
    }
}
