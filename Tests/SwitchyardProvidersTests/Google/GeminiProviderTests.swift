import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct GeminiProviderTests {
    let provider = GeminiProvider(config: ProviderConfig(name: "gem", type: "gemini", keys: ["k"], baseURL: "http://127.0.0.1:9", options: GeminiOptions()))

    static let weatherTool = ToolDefinition(
        name: "get_weather", description: "Get current weather for a city",
        parameters: [
            "type": "object",
            "properties": ["city": ["type": "string", "description": "City name"], "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]]],
            "required": ["city"],
        ])

    static func weatherRequest() -> ChatRequest {
        var request = ChatRequest(
            model: "gem/gemini-2.5-flash",
            messages: [.text(.system, "You are a concise weather assistant."), .text(.user, "What's the weather in Paris right now?")])
        request.tools = [weatherTool]
        request.toolChoice = .auto
        request.sampling.temperature = 0.2
        request.maxTokens = 1024
        request.n = 1
        return request
    }

    func encoded(_ request: ChatRequest, model: String = "gemini-2.5-flash") throws -> (url: String, body: JSONValue) {
        let upstream = try provider.makeChatRequest(request, model: model)
        return (upstream.url, try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? []))
    }

    @Test func requestWithToolsMatchesTheFixture() throws {
        let (url, body) = try encoded(Self.weatherRequest())
        #expect(url == "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:generateContent")
        #expect(body == (try Fixtures.json("gemini/generate_content_request_tools.json")))
    }

    @Test func streamingUsesTheSSEMethod() throws {
        var request = Self.weatherRequest()
        request.stream = true
        #expect(try encoded(request).url == "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        // A model name cannot add path segments or a query.
        #expect(try encoded(request, model: "x/../y?z").url.contains("models/x%2F..%2Fy%3Fz:streamGenerateContent"))
    }

    /// The response fixture decodes into a call with a minted id carrying the signature; the next turn
    /// (the client sends the call back by its id, and a result for it) encodes to the function-response
    /// fixture: signature back on the same part, result under the function's name.
    @Test func thoughtSignatureRoundTripsAcrossAToolCall() throws {
        let response = try provider.decodeChatResponse(buffer(try Fixtures.json("gemini/generate_content_response_function_call.json")), head: head(200))
        let choice = try #require(response.choices.first)
        #expect(choice.finishReason == .toolCalls)
        #expect(choice.message.text == "Let me check the weather.")
        let call = try #require(choice.message.toolCalls.first)
        #expect(call.id.hasPrefix("call_") && call.id.count == 29)
        #expect(call.signature == ReasoningSignature(family: .gemini, value: "CiQBVKhc7q1cF0wZ0k3g3bS2m9xg0kq0n0m3yVYxQ2h2cWZ4dWk="))
        #expect(call.arguments == #"{"city":"Paris"}"#)
        #expect(response.usage == Usage(promptTokens: 88, completionTokens: 56, reasoningTokens: 35))

        // What a client holds: the id with the signature in it, as a dialect hands it out.
        let (id, signature) = ToolCall.split(clientID: call.clientID)
        #expect(id == call.id && signature == call.signature)
        var next = Self.weatherRequest()
        next.toolChoice = nil
        next.sampling.temperature = nil
        next.maxTokens = nil
        next.n = nil
        next.messages.append(ChatMessage(role: .assistant, parts: [.text("Let me check the weather."), .toolCall(ToolCall(id: id, name: "get_weather", arguments: #"{"city":"Paris"}"#, signature: signature))]))
        next.messages.append(ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: id, content: [.text(#"{"temp_c":18,"conditions":"light rain"}"#)]))]))
        next.messages.resolveToolResultNames()
        #expect(try encoded(next).body == (try Fixtures.json("gemini/generate_content_request_function_response.json")))
    }

    @Test func signaturesFromAnotherVendorNeverReachGemini() throws {
        var request = ChatRequest(model: "m", messages: [.text(.user, "hi")])
        request.messages.append(
            ChatMessage(
                role: .assistant,
                parts: [
                    .reasoning(ReasoningPart(text: "thinking", signature: ReasoningSignature(family: .anthropic, value: "claude-sig"))),
                    .toolCall(ToolCall(id: "toolu_1", name: "f", arguments: "{}")),
                ]))
        request.messages.append(ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "toolu_1", name: "f", content: [.text("done")]))]))
        let body = try encoded(request).body.jsonString
        #expect(!body.contains("claude-sig") && !body.contains("thinking"))
        #expect(body.contains(#""response":{"result":"done"}"#))
        // Gemini 3 gets Google's placeholder for a call it did not sign.
        #expect(try encoded(request, model: "gemini-3-pro-preview").body.jsonString.contains("skip_thought_signature_validator"))
    }

    @Test func streamFixtureBecomesDeltasWithUsageLast() throws {
        let events = try decodeStream(try Fixtures.text("gemini/stream_generate_content.sse"), with: provider.makeStreamDecoder(), sliceSize: 9)
        #expect(events.first == .start(id: "mMfQaL6yKqG1nvgP7u2M0Qw", model: "gemini-2.5-flash"))
        let texts = events.compactMap { if case .textDelta(let text, _) = $0 { text } else { nil } }
        #expect(texts == ["Let me check", " the weather."])
        let result = Reassembled(events)
        #expect(result.calls[0]?.name == "get_weather")
        #expect(result.calls[0]?.arguments == #"{"city":"Paris"}"#)
        #expect(result.callSignatures[0] == ReasoningSignature(family: .gemini, value: "CiQBVKhc7q1cF0wZ0k3g3bS2m9xg0kq0n0m3yVYxQ2h2cWZ4dWk="))
        #expect(result.finish == .toolCalls)
        #expect(result.usage == Usage(promptTokens: 88, completionTokens: 56, reasoningTokens: 35))
        #expect(events.last.map { if case .usage = $0 { true } else { false } } == true)
    }

    @Test func thoughtPartsBecomeReasoningNeverText() throws {
        let sse = """
            data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Considering the city","thought":true}]}}],"responseId":"r","modelVersion":"gemini-2.5-pro"}

            data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Paris is rainy.","thoughtSignature":"c2ln"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"cachedContentTokenCount":4,"candidatesTokenCount":5,"thoughtsTokenCount":7}}


            """
        let result = Reassembled(try decodeStream(sse, with: provider.makeStreamDecoder()))
        #expect(result.reasoning == "Considering the city")
        #expect(result.text == "Paris is rainy.")
        #expect(result.reasoningSignatures == [ReasoningSignature(family: .gemini, value: "c2ln")])
        #expect(result.finish == .stop)
        #expect(result.usage == Usage(promptTokens: 10, completionTokens: 12, cachedPromptTokens: 4, reasoningTokens: 7))
    }

    @Test func failureFinishReasonsFailTheAttemptBeforeContent() throws {
        let sse = "data: {\"candidates\":[{\"finishReason\":\"MALFORMED_FUNCTION_CALL\"}],\"responseId\":\"r\"}\n\n"
        #expect { try decodeStream(sse, with: provider.makeStreamDecoder()) } throws: { ($0 as? UpstreamFailure)?.kind == .unavailable }
        let blocked: JSONValue = ["promptFeedback": ["blockReason": "SAFETY"]]
        #expect { try provider.decodeChatResponse(buffer(blocked), head: head(200)) } throws: { ($0 as? UpstreamFailure)?.kind == .contentFiltered }
        #expect { try decodeStream("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\n", with: provider.makeStreamDecoder()) } throws: {
            ($0 as? UpstreamFailure)?.kind == .unavailable  // ended without a finish reason
        }
    }

    @Test(arguments: [
        ("gemini/error_invalid_api_key_400.json", 400, FailureKind.authFailed),
        ("gemini/error_resource_exhausted_429.json", 429, .rateLimited),
        ("gemini/error_context_length_400.json", 400, .contextLengthExceeded),
        ("vertex/error_resource_exhausted_429.json", 429, .rateLimited),
    ])
    func errorFixturesClassify(file: String, status: Int, kind: FailureKind) throws {
        let failure = provider.classifyFailure(head: head(status), body: buffer(try Fixtures.json(file)))
        #expect(failure.kind == kind)
        if file == "gemini/error_resource_exhausted_429.json" { #expect(failure.retryAfter == .seconds(41)) }
    }

    @Test func dailyQuotaIsExhaustionAndStatusesMap() {
        let daily: JSONValue = [
            "error": [
                "code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                "details": [["@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [["quotaId": "GenerateRequestsPerDayPerProjectPerModel"]]]],
            ]
        ]
        #expect(provider.classifyFailure(head: head(429), body: buffer(daily)).kind == .quotaExhausted)
        #expect(provider.classifyFailure(head: head(404), body: buffer(["error": ["code": 404, "status": "NOT_FOUND", "message": "no"]])).kind == .modelNotFound)
        #expect(provider.classifyFailure(head: head(401), body: buffer(["error": ["code": 401, "status": "UNAUTHENTICATED", "message": "no"]])).kind == .authFailed)
        #expect(provider.classifyFailure(head: head(503), body: ByteBuffer()).kind == .overloaded)
    }

    @Test func schemasAreReducedOrRefusedByName() throws {
        var request = ChatRequest(model: "m", messages: [.text(.user, "hi")])
        request.tools = [
            ToolDefinition(
                name: "lookup",
                parameters: [
                    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                    "properties": ["kind": ["const": "city"], "place": ["$ref": "#/$defs/place"]], "$defs": ["place": ["type": "string"]],
                ])
        ]
        let body = try encoded(request).body
        #expect(
            body["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue?.first?["parametersJsonSchema"]
                == ["type": "object", "properties": ["kind": ["enum": ["city"]], "place": ["type": "string"]]])
        request.tools = [ToolDefinition(name: "cond", parameters: ["type": "object", "if": ["required": ["a"]], "then": ["required": ["b"]]])]
        #expect { try encoded(request) } throws: { error in
            guard let error = error as? GatewayError else { return false }
            return error.status == 400 && error.message.contains("'if'") && error.message.contains("cond")
        }
    }

    @Test func generationConfigCarriesEveryKnob() throws {
        var request = ChatRequest(model: "m", messages: [.text(.user, "hi")])
        request.sampling = SamplingParameters(temperature: 0.5, topP: 0.9, topK: 40, frequencyPenalty: 0.1, presencePenalty: 0.2, seed: 7)
        request.stop = ["END"]
        request.responseFormat = .jsonSchema(name: "answer", description: nil, schema: ["type": "object"], strict: true)
        request.reasoning = .effort(.low)
        let config = try encoded(request).body["generationConfig"]
        #expect(config?["topK"] == 40 && config?["seed"] == 7 && config?["stopSequences"] == ["END"])
        #expect(config?["responseMimeType"] == "application/json" && config?["responseJsonSchema"] == ["type": "object"])
        #expect(config?["thinkingConfig"] == ["thinkingBudget": 2048, "includeThoughts": true])
    }

    @Test func embeddingsUseEmbedContentAndBatch() throws {
        let single = try provider.makeEmbeddingsRequest(EmbeddingsRequest(model: "text-embedding-004", input: .text("hi")), model: "text-embedding-004")
        #expect(single.url.hasSuffix("/v1beta/models/text-embedding-004:embedContent"))
        let batch = try provider.makeEmbeddingsRequest(EmbeddingsRequest(model: "e", input: .texts(["a", "b"])), model: "text-embedding-004")
        #expect(batch.url.hasSuffix(":batchEmbedContents"))
        let decoded = try provider.decodeEmbeddingsResponse(buffer(["embeddings": [["values": [.double(0.5), 1]], ["values": [2, 3]]]]), head: head(200))
        #expect(decoded.embeddings == [[.double(0.5), 1], [2, 3]])
    }
}
