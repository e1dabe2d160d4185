import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct AnthropicProviderTests {
    let provider = AnthropicProvider(config: ProviderConfig(name: "claude", type: "anthropic", keys: ["k"], baseURL: "http://127.0.0.1:9", options: AnthropicOptions(defaultMaxTokens: 512)))

    func body(_ request: ChatRequest, model: String = "claude-sonnet-4-5") throws -> JSONValue {
        try JSONParser.parse(try provider.makeChatRequest(request, model: model).body.map { Array($0.readableBytesView) } ?? [])
    }

    @Test func streamFixtureDecodesWithToolIndexesAndUsage() throws {
        let events = try decodeStream(try Fixtures.text("anthropic/stream_text_tool_use.sse"), with: AnthropicStreamDecoder(), sliceSize: 5)
        #expect(events.first == .start(id: "msg_01Aq9w938a90dw8q", model: "claude-sonnet-4-5-20250929"))
        let result = Reassembled(events)
        #expect(result.text == "Let me check the weather.")
        #expect(result.calls[0]?.id == "toolu_01A09q90qw90lq917835lq9")
        #expect(result.calls[0]?.arguments == #"{"city": "Paris"}"#)
        #expect(result.finish == .toolCalls)
        #expect(result.usage == Usage(promptTokens: 412, completionTokens: 58))
    }

    @Test func midStreamErrorFixtureThrowsOverloaded() throws {
        #expect {
            try decodeStream(try Fixtures.text("anthropic/stream_midstream_overloaded.sse"), with: AnthropicStreamDecoder())
        } throws: { ($0 as? UpstreamFailure)?.kind == .overloaded }
    }

    @Test func responseFixtureDecodesWithCacheAwareUsage() throws {
        var json = try Fixtures.json("anthropic/messages_response_tool_use.json")
        if case .object(var object) = json, case .object(var usage)? = object["usage"] {
            usage["cache_read_input_tokens"] = 100
            usage["cache_creation_input_tokens"] = 20
            object["usage"] = .object(usage)
            json = .object(object)
        }
        let response = try provider.decodeChatResponse(buffer(json), head: head(200))
        #expect(response.choices.first?.finishReason == .toolCalls)
        #expect(response.choices.first?.message.toolCalls.first?.arguments == #"{"city":"Paris"}"#)
        #expect(response.usage == Usage(promptTokens: 532, completionTokens: 58, cachedPromptTokens: 100, cacheWritePromptTokens: 20))
    }

    @Test(arguments: [
        ("anthropic/error_rate_limit_429.json", 429, FailureKind.rateLimited),
        ("anthropic/error_overloaded_529.json", 529, .overloaded),
        ("anthropic/error_context_length_400.json", 400, .contextLengthExceeded),
        ("anthropic/error_auth_401.json", 401, .authFailed),
    ])
    func errorFixturesClassify(file: String, status: Int, kind: FailureKind) throws {
        let failure = provider.classifyFailure(head: head(status, ["retry-after": "3"]), body: buffer(try Fixtures.json(file)))
        #expect(failure.kind == kind)
        #expect(failure.retryAfter == .seconds(3))
    }

    @Test func spendLimitIsQuotaNotRateLimit() {
        let body: JSONValue = ["type": "error", "error": ["type": "rate_limit_error", "message": "spend", "details": ["error_code": "enforced_spend_limit_reached"]]]
        #expect(provider.classifyFailure(head: head(429), body: buffer(body)).kind == .quotaExhausted)
        #expect(provider.classifyFailure(head: head(403), body: buffer(["type": "error", "error": ["type": "permission_error", "message": "no"]])).kind == .authFailed)
        #expect(provider.classifyFailure(head: head(500), body: ByteBuffer()).kind == .overloaded)
    }

    @Test func rateLimitResetHeaderGivesRetryAfter() {
        let reset = "2099-01-01T00:00:00Z"
        let failure = provider.classifyFailure(head: head(429, ["anthropic-ratelimit-requests-reset": reset]), body: buffer(try! Fixtures.json("anthropic/error_rate_limit_429.json")))
        #expect((failure.retryAfter ?? .zero) > .seconds(1000))
    }

    @Test func canonicalConversationMapsToMessagesRules() throws {
        let request = ChatRequest(
            model: "smart",
            messages: [
                .text(.system, "Be concise."),
                .text(.user, "Weather in Paris and Rome?"),
                ChatMessage(
                    role: .assistant,
                    parts: [
                        .toolCall(ToolCall(id: "call.1:x", name: "get_weather", arguments: #"{"city":"Paris"}"#)),
                        .toolCall(ToolCall(id: "call_2", name: "get_weather", arguments: #"{"city":"Rome"}"#)),
                    ]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "call.1:x", content: [.text("18C")]))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "call_2", content: [.text("25C")]))]),
                .text(.user, "Thanks"),
                .text(.developer, "Answer in French."),
            ],
            tools: [ToolDefinition(name: "get_weather", description: "Weather", parameters: ["type": "object"])],
            toolChoice: .required, parallelToolCalls: false, stop: ["STOP"], user: "user-7")
        let json = try body(request)
        #expect(json["max_tokens"] == 512)
        #expect(json["system"] == [["type": "text", "text": "Be concise."], ["type": "text", "text": "Answer in French."]])
        #expect(json["tool_choice"] == ["type": "any", "disable_parallel_tool_use": true])
        #expect(json["stop_sequences"] == ["STOP"])
        #expect(json["metadata"]?["user_id"] == "user-7")
        #expect(json["tools"]?.arrayValue?.first?["input_schema"] == ["type": "object"])
        let messages = try #require(json["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"])
        let calls = try #require(messages[1]["content"]?.arrayValue)
        let sanitized = try #require(calls[0]["id"]?.stringValue)
        #expect(sanitized.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        #expect(calls[0]["input"] == ["city": "Paris"])
        #expect(calls[1]["input"] == ["city": "Rome"])
        let results = try #require(messages[2]["content"]?.arrayValue)
        #expect(results.map { $0["type"]?.stringValue ?? "" } == ["tool_result", "tool_result", "text"])
        #expect(results[0]["tool_use_id"]?.stringValue == sanitized)
        #expect(results[1]["tool_use_id"] == "call_2")
    }

    @Test(arguments: ["not json", "[1,2]", "\"text\"", "42"])
    func toolArgumentsThatAreNotAnObjectAreRefusedNotEmptied(_ arguments: String) {
        let request = ChatRequest(
            model: "smart",
            messages: [
                .text(.user, "Weather?"),
                ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "call_1", name: "get_weather", arguments: arguments))]),
                ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "call_1", content: [.text("18C")]))]),
            ])
        #expect(throws: GatewayError.self) { try body(request) }
    }

    @Test func imagesInTheSystemPromptAreRefused() {
        let image = ImageSource(location: .base64(mediaType: "image/png", data: "iVBORw0KGgo="))
        let request = ChatRequest(model: "smart", messages: [ChatMessage(role: .system, parts: [.text("Look:"), .image(image)]), .text(.user, "hi")])
        #expect(throws: GatewayError.self) { try body(request) }
    }

    @Test func imagesGoByBase64AndByURL() throws {
        let request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(
                    role: .user,
                    parts: [
                        .image(ImageSource(location: .url("data:image/png;base64,iVBOR"))), .image(ImageSource(location: .url("https://example.com/cat.jpg"))),
                        .text("What are these?"),
                    ])
            ])
        let content = try #require(try body(request)["messages"]?.arrayValue?.first?["content"]?.arrayValue)
        #expect(content[0]["source"] == ["type": "base64", "media_type": "image/png", "data": "iVBOR"])
        #expect(content[1]["source"] == ["type": "url", "url": "https://example.com/cat.jpg"])
    }

    @Test func unsupportedOpenAIFeaturesAreRefused() {
        #expect(throws: GatewayError.self) { try provider.makeChatRequest(ChatRequest(model: "m", messages: [.text(.user, "x")], n: 2), model: "m") }
        var hot = ChatRequest(model: "m", messages: [.text(.user, "x")])
        hot.sampling.temperature = 1.5
        #expect(throws: GatewayError.self) { try provider.makeChatRequest(hot, model: "m") }
    }

    @Test func passThroughKeepsThinkingCacheControlAndBetaHeaders() throws {
        let original = try Fixtures.json("anthropic/messages_request_tool_result.json")
        guard case .object(var object) = original else { throw FixtureError("not an object") }
        object["thinking"] = ["type": "enabled", "budget_tokens": 2048]
        var request = ChatRequest(model: "smart", messages: [.text(.user, "x")])
        request.passThrough = PassThrough(dialect: .anthropic, body: object, headers: [("anthropic-beta", "interleaved-thinking-2025-05-14")])
        let upstream = try provider.makeChatRequest(request, model: "claude-opus-4")
        #expect(upstream.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14")
        #expect(upstream.headers["anthropic-version"] == "2023-06-01")
        let json = try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? [])
        #expect(json["model"] == "claude-opus-4")
        #expect(json["thinking"] == ["type": "enabled", "budget_tokens": 2048])
        #expect(json["system"]?.arrayValue?.first?["cache_control"] == ["type": "ephemeral"])
        #expect(json["messages"] == original["messages"])
    }

    @Test func version20261021DropsSamplingParameters() throws {
        let pinned = AnthropicProvider(config: ProviderConfig(name: "c", type: "anthropic", keys: ["k"], options: AnthropicOptions(apiVersion: "2026-10-21")))
        var request = ChatRequest(model: "m", messages: [.text(.user, "x")])
        request.sampling.temperature = 0.3
        let upstream = try pinned.makeChatRequest(request, model: "m")
        let json = try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? [])
        #expect(json["temperature"] == nil)
        #expect(upstream.headers["anthropic-version"] == "2026-10-21")
    }
}
