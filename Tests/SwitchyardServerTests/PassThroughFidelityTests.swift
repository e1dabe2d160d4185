import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// Same dialect, same vendor family: the answer goes back as the vendor sent it, byte for byte, so nothing
/// the canonical model has no field for is lost (stop sequences, thinking signatures, server tools, cache
/// details, n > 1, logprobs, audio tokens, errors' param and code).
@Suite("Same-dialect answers pass through byte for byte")
struct PassThroughFidelityTests {
    static let config = """
        listen: 127.0.0.1:0
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
          oai: {type: openai, base_url: "http://127.0.0.1:{{oai}}/v1", keys: [sk-openai-key-123456]}
        \(GoogleTests.vertexProviderYAML)
        models:
          claude: claude/claude-sonnet-4-5
          gpt: oai/gpt-4o
          vertex-claude: gcp/claude-sonnet-4-5@20250929
        keys:
          - name: app
            key: test-key
        """

    static func run(_ test: @escaping @Sendable (LiveGateway.Context, SimulatedVendor, SimulatedVendor, SimulatedVendor) async throws -> Void) async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        let gcp = GoogleTests.vertexVendor()
        try await LiveGateway.run(vendors: [claude, oai, gcp], config: config) { gateway in try await test(gateway, claude, oai, gcp) }
    }

    /// Everything the canonical model has no field for, in one Anthropic answer.
    static let richAnthropicAnswer = #"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"Let me search.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},{"type":"server_tool_use","id":"srvtoolu_01WYG3ziw53XMcoyKL4XcZmE","name":"web_search","input":{"query":"weather Paris"}},{"type":"web_search_tool_result","tool_use_id":"srvtoolu_01WYG3ziw53XMcoyKL4XcZmE","content":[{"type":"web_search_result","url":"https://example.com","title":"Paris","encrypted_content":"EqgfCioIARgBIiQ3","page_age":null}]},{"type":"text","text":"Light rain, 18 C. END"}],"stop_reason":"stop_sequence","stop_sequence":"END","stop_details":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":1024,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":1024,"ephemeral_1h_input_tokens":0},"output_tokens":503,"service_tier":"standard","server_tool_use":{"web_search_requests":1}}}"#

    static let messages: JSONValue = ["model": "claude", "max_tokens": 1024, "messages": [["role": "user", "content": "Weather in Paris?"]]]

    @Test func anthropicAnswersReachAnthropicClientsUnchanged() async throws {
        try await Self.run { gateway, claude, _, gcp in
            claude.enqueue(.verbatim(body: Self.richAnthropicAnswer))
            let result = try await gateway.post("/v1/messages", json: Self.messages, key: nil, headers: ["x-api-key": "test-key"])
            #expect(result.status == 200)
            #expect(result.body == Self.richAnthropicAnswer)
            // Claude on Vertex answers in the same dialect: the same holds.
            gcp.enqueue(.verbatim(body: Self.richAnthropicAnswer))
            var viaVertex = Self.messages.objectValue!
            viaVertex["model"] = "vertex-claude"
            let vertex = try await gateway.post("/v1/messages", json: .object(viaVertex), key: nil, headers: ["x-api-key": "test-key"])
            #expect(vertex.body == Self.richAnthropicAnswer)
        }
    }

    @Test func anthropicStreamsReachAnthropicClientsUnchanged() async throws {
        let stream = try Fixtures.text("anthropic/stream_text_tool_use.sse")
        try await Self.run { gateway, claude, _, _ in
            claude.enqueue(.verbatim(contentType: "text/event-stream", body: stream))
            var body = Self.messages.objectValue!
            body["stream"] = true
            let result = try await gateway.send(.POST, "/v1/messages", body: JSONValue.object(body).jsonString, headers: ["x-api-key": "test-key"])
            #expect(result.status == 200)
            #expect(result.body == stream)
        }
    }

    /// n > 1, logprobs, audio and prediction token counts, service tier: an OpenAI answer with all of them.
    static let richOpenAIAnswer = #"{"id":"chatcmpl-AbC123","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Rain.","refusal":null,"annotations":[]},"logprobs":{"content":[{"token":"Rain","logprob":-0.01,"bytes":[82,97,105,110],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"Drizzle.","refusal":null,"annotations":[]},"logprobs":{"content":[{"token":"Dr","logprob":-0.4,"bytes":[68,114],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":6,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf"}"#

    @Test func openAIAnswersReachOpenAIClientsUnchanged() async throws {
        try await Self.run { gateway, _, oai, _ in
            oai.enqueue(.verbatim(body: Self.richOpenAIAnswer))
            let result = try await gateway.post(
                "/v1/chat/completions", json: ["model": "gpt", "n": 2, "logprobs": true, "messages": [["role": "user", "content": "Paris?"]]])
            #expect(result.body == Self.richOpenAIAnswer)
        }
    }

    @Test func openAIStreamsPassThroughAndOnlyTheUnaskedUsageIsTakenOut() async throws {
        let stream = try Fixtures.text("openai/chat_stream_text_tool_call.sse")
        try await Self.run { gateway, _, oai, _ in
            let asked: JSONValue = ["model": "gpt", "stream": true, "stream_options": ["include_usage": true], "messages": [["role": "user", "content": "Paris?"]]]
            oai.enqueue(.verbatim(contentType: "text/event-stream", body: stream))
            #expect(try await gateway.post("/v1/chat/completions", json: asked).body == stream)

            // The gateway asks the vendor for usage (for its own accounting) even when the client did not:
            // then that chunk, and the `"usage":null` members, are all that is taken out.
            oai.enqueue(.verbatim(contentType: "text/event-stream", body: stream))
            let unasked: JSONValue = ["model": "gpt", "stream": true, "messages": [["role": "user", "content": "Paris?"]]]
            let result = try await gateway.post("/v1/chat/completions", json: unasked)
            #expect(oai.requests.last?.body?["stream_options"]?["include_usage"] == true)
            let expected = stream.components(separatedBy: "\n\n").filter { !$0.contains(#""choices":[]"#) }.joined(separator: "\n\n")
                .replacingOccurrences(of: #","usage":null"#, with: "")
            #expect(result.body == expected)
            #expect(!result.body.contains("usage"))
        }
    }

    /// The vendor's own in-band error goes out as sent, and the gateway adds none of its own.
    @Test func aMidStreamErrorOfTheVendorPassesThroughOnce() async throws {
        try await Self.run { gateway, claude, _, _ in
            let vendorError: JSONValue = ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded (vendor's own words)"]]
            claude.enqueue(.failMidStream(afterChunks: 4, error: vendorError))
            var body = Self.messages.objectValue!
            body["stream"] = true
            let result = try await gateway.send(.POST, "/v1/messages", body: JSONValue.object(body).jsonString, headers: ["x-api-key": "test-key"])
            #expect(result.body.hasSuffix("event: error\ndata: \(vendorError.jsonString)\n\n"))
            #expect(result.body.components(separatedBy: "event: error").count == 2)
            #expect(claude.requestCount == 1)
        }
    }

    @Test func vendorRequestErrorsKeepTypeParamAndCode() async throws {
        try await Self.run { gateway, claude, oai, _ in
            let openAIError = #"{"error":{"message":"Invalid 'messages[0].content': string too long.","type":"invalid_request_error","param":"messages[0].content","code":"string_above_max_length"}}"#
            oai.enqueue(.verbatim(status: 400, body: openAIError))
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "gpt", "messages": [["role": "user", "content": "x"]]])
            #expect(result.status == 400)
            #expect(result.body == openAIError)

            let context = try Fixtures.text("anthropic/error_context_length_400.json")
            claude.enqueue(.verbatim(status: 400, body: context))
            let anthropic = try await gateway.post("/v1/messages", json: Self.messages, key: nil, headers: ["x-api-key": "test-key"])
            #expect(anthropic.status == 400)
            #expect(anthropic.body == context)

            // A client of the other dialect gets the same failure in its own terms.
            claude.enqueue(.verbatim(status: 400, body: context))
            let crossed = try await gateway.post("/v1/chat/completions", json: ["model": "claude", "messages": [["role": "user", "content": "x"]]])
            #expect(crossed.status == 400)
            #expect(crossed.json?["error"]?["code"] == "context_length_exceeded")
        }
    }
}
