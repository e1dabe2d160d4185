import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct OpenAIProviderTests {
    let provider = OpenAIProvider(config: ProviderConfig(name: "oai", type: "openai", keys: ["k"], baseURL: "http://127.0.0.1:9/v1"))

    @Test func streamFixtureDecodesToTextToolCallAndUsage() throws {
        let events = try decodeStream(try Fixtures.text("openai/chat_stream_text_tool_call.sse"), with: OpenAIStreamDecoder())
        guard case .start(let id, let model) = events.first else { throw FixtureError("no start event") }
        #expect(id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG")
        #expect(model == "gpt-4o-2024-08-06")
        let result = Reassembled(events)
        #expect(result.text == "Let me check the weather.")
        #expect(result.calls[0]?.name == "get_weather")
        #expect(result.calls[0]?.id == "call_7pWyJ3nS0bGq4XhV1eTtZk2M")
        #expect(result.calls[0]?.arguments == #"{"city": "Paris"}"#)
        #expect(result.finish == .toolCalls)
        #expect(result.usage?.promptTokens == 92)
    }

    @Test func truncatedStreamIsAFailure() throws {
        let text = try Fixtures.text("openai/chat_stream_text_tool_call.sse")
        let cut = String(text.prefix(text.utf8.count / 2))
        #expect(throws: UpstreamFailure.self) { try decodeStream(cut, with: OpenAIStreamDecoder()) }
    }

    @Test func responseFixtureDecodes() throws {
        let response = try provider.decodeChatResponse(buffer(try Fixtures.json("openai/chat_response_tool_calls.json")), head: head(200))
        #expect(response.choices.first?.finishReason == .toolCalls)
        #expect(response.choices.first?.message.text == "Let me check the weather.")
        #expect(response.choices.first?.message.toolCalls.first?.arguments == #"{"city": "Paris"}"#)
        #expect(response.usage == Usage(promptTokens: 92, completionTokens: 24))
        #expect(response.systemFingerprint == "fp_f9f4fb6dbf")
    }

    @Test(arguments: [
        ("openai/error_rate_limit_429.json", 429, FailureKind.rateLimited),
        ("openai/error_insufficient_quota_429.json", 429, .quotaExhausted),
        ("openai/error_context_length_400.json", 400, .contextLengthExceeded),
        ("openai/error_invalid_api_key_401.json", 401, .authFailed),
    ])
    func errorFixturesClassify(file: String, status: Int, kind: FailureKind) throws {
        let failure = provider.classifyFailure(head: head(status, ["retry-after": "2"]), body: buffer(try Fixtures.json(file)))
        #expect(failure.kind == kind)
        #expect(failure.status == status)
        #expect(failure.retryAfter == .seconds(2))
    }

    @Test func classificationNeverEchoesKeys() throws {
        let failure = provider.classifyFailure(head: head(401), body: buffer(try Fixtures.json("openai/error_invalid_api_key_401.json")))
        #expect(!failure.message.contains("sk-proj"))
    }

    @Test func serverErrorsAndUnknownModelsFailOver() {
        #expect(provider.classifyFailure(head: head(503), body: ByteBuffer()).kind == .overloaded)
        #expect(provider.classifyFailure(head: head(404), body: ByteBuffer()).kind.allowsFailover)
    }

    @Test func canonicalRequestEncodesToChatCompletions() throws {
        var request = ChatRequest(
            model: "smart",
            messages: [
                .text(.system, "Be brief."),
                ChatMessage(role: .user, parts: [.text("What is this?"), .image(ImageSource(location: .base64(mediaType: "image/png", data: "AAAA")))]),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "toolu_1", name: "look", arguments: "{}"))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "toolu_1", content: [.text("a cat")]))]),
            ],
            tools: [ToolDefinition(name: "look", parameters: ["type": "object"])], toolChoice: .required, maxTokens: 100, stop: ["END"], stream: true)
        request.sampling.temperature = 0.5
        let upstream = try provider.makeChatRequest(request, model: "gpt-4o")
        #expect(upstream.url == "http://127.0.0.1:9/v1/chat/completions")
        let body = try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? [])
        #expect(body["model"] == "gpt-4o")
        #expect(body["max_completion_tokens"] == 100)
        #expect(body["tool_choice"] == "required")
        #expect(body["stream_options"]?["include_usage"] == true)
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["system", "user", "assistant", "tool"])
        #expect(messages[1]["content"]?.arrayValue?[1]["image_url"]?["url"] == "data:image/png;base64,AAAA")
        #expect(messages[2]["content"] == .null)
        #expect(messages[3]["tool_call_id"] == "toolu_1")
    }

    @Test func passThroughKeepsUnknownFieldsAndRewritesTheModel() throws {
        let original = try Fixtures.json("openai/chat_request_json_schema_logprobs.json")
        var request = ChatRequest(model: "smart", messages: [.text(.user, "x")])
        request.passThrough = PassThrough(dialect: .openai, body: try #require(original.objectValue))
        let upstream = try provider.makeChatRequest(request, model: "gpt-4o-mini")
        let body = try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? [])
        #expect(body["model"] == "gpt-4o-mini")
        #expect(body["response_format"] == original["response_format"])
        #expect(body["top_logprobs"] == 2)
        #expect(body.objectValue?.keys == original.objectValue?.keys)
    }

    @Test func compatibleVendorsGetMaxTokensAndNoDeveloperRole() throws {
        let compatible = OpenAIProvider(config: ProviderConfig(name: "local", type: "openai-compatible", baseURL: "http://127.0.0.1:9/v1", options: OpenAIOptions(requestsStreamUsage: false)))
        let request = ChatRequest(model: "m", messages: [.text(.developer, "rules"), .text(.user, "hi")], maxTokens: 10, stream: true)
        let body = try JSONParser.parse(try compatible.makeChatRequest(request, model: "llama").body.map { Array($0.readableBytesView) } ?? [])
        #expect(body["max_tokens"] == 10)
        #expect(body["max_completion_tokens"] == nil)
        #expect(body["messages"]?.arrayValue?.first?["role"] == "system")
        #expect(body["stream_options"] == nil)
    }

    @Test func embeddingsResponseFixtureDecodes() throws {
        let response = try provider.decodeEmbeddingsResponse(buffer(try Fixtures.json("openai/embeddings_response.json")), head: head(200))
        #expect(response.embeddings.count == 1)
        #expect(response.promptTokens == 5)
    }
}

struct FixtureError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

@Suite struct RetryAfterTests {
    let openAI = OpenAIProvider(config: ProviderConfig(name: "oai", type: "openai", keys: ["k"], baseURL: "http://127.0.0.1:9/v1"))
    let anthropic = AnthropicProvider(config: ProviderConfig(name: "claude", type: "anthropic", keys: ["k"], baseURL: "http://127.0.0.1:9"))

    func retryAfter(_ name: String, _ value: String, provider: any ChatProvider) -> Duration? {
        let head = UpstreamHead(status: 429, headers: HeaderFields([(name: name, value: value)]))
        return provider.classifyFailure(head: head, body: ByteBuffer(string: #"{"error":{"message":"slow down","type":"rate_limit_error"}}"#)).retryAfter
    }

    @Test(arguments: ["inf", "-inf", "1e300", "99999999999999999999999", "nan", "Infinity", "-5"])
    func nonsenseRetryAfterNeverTrapsAndStaysBounded(_ value: String) {
        for provider in [openAI, anthropic] as [any ChatProvider] {
            for header in ["retry-after", "retry-after-ms"] {
                if let wait = retryAfter(header, value, provider: provider) {
                    #expect(wait >= .zero && wait <= .seconds(3600), "\(header): \(value) gave \(wait)")
                }
            }
        }
    }

    @Test func sensibleRetryAfterIsKept() {
        #expect(retryAfter("retry-after", "2", provider: openAI) == .seconds(2))
        #expect(retryAfter("retry-after-ms", "250", provider: openAI) == .milliseconds(250))
        #expect(retryAfter("retry-after", "1e300", provider: openAI) == .seconds(3600))
    }
}
