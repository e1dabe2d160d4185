import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct BedrockProviderTests {
    static func provider(region: String = "us-east-1") -> BedrockProvider {
        var options = BedrockOptions()
        options.region = region
        return BedrockProvider(config: ProviderConfig(name: "aws", type: "bedrock", keys: ["k"], options: options))
    }

    static let weatherTool = ToolDefinition(
        name: "get_weather", description: "Get current weather for a city",
        parameters: [
            "type": "object",
            "properties": ["city": ["type": "string", "description": "City name"], "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]]],
            "required": ["city"],
        ])

    func encoded(_ request: ChatRequest, model: String = "anthropic.claude-3-haiku-20240307-v1:0") throws -> (url: String, body: JSONValue) {
        let upstream = try Self.provider().makeChatRequest(request, model: model)
        return (upstream.url, try JSONParser.parse(upstream.body.map { Array($0.readableBytesView) } ?? []))
    }

    /// The fixtures carry Bedrock-only details the canonical model has no input for (an empty stop list, a
    /// cache point): compared without them.
    static func withoutCanonicalGaps(_ value: JSONValue) -> JSONValue {
        guard case .object(var body) = value else { return value }
        if case .object(var inference)? = body["inferenceConfig"], inference["stopSequences"] == [] {
            inference["stopSequences"] = nil
            body["inferenceConfig"] = .object(inference)
        }
        if case .array(let system)? = body["system"] { body["system"] = .array(system.filter { $0["cachePoint"] == nil }) }
        return .object(body)
    }

    @Test func requestWithToolsMatchesTheFixture() throws {
        var request = ChatRequest(
            model: "aws/claude", messages: [.text(.system, "You are a concise weather assistant."), .text(.user, "What's the weather in Paris right now?")])
        request.tools = [Self.weatherTool]
        request.toolChoice = .auto
        request.maxTokens = 1024
        request.sampling.temperature = 0.2
        let (url, body) = try encoded(request)
        #expect(url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
        #expect(Self.withoutCanonicalGaps(body) == Self.withoutCanonicalGaps(try Fixtures.json("bedrock/converse_request_tools.json")))
    }

    /// The response fixture decodes, and the conversation continued with its tool call and a JSON result
    /// encodes to the tool-result fixture.
    @Test func toolRoundTripMatchesTheFixtures() throws {
        let response = try Self.provider().decodeChatResponse(
            buffer(try Fixtures.json("bedrock/converse_response_tool_use.json")), head: head(200), model: "anthropic.claude")
        let choice = try #require(response.choices.first)
        #expect(choice.finishReason == .toolCalls)
        #expect(choice.message.text == "Let me check the weather.")
        #expect(choice.message.toolCalls == [ToolCall(id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
        #expect(response.usage == Usage(promptTokens: 412, completionTokens: 58))

        var next = ChatRequest(
            model: "aws/claude",
            messages: [.text(.system, "You are a concise weather assistant."), .text(.user, "What's the weather in Paris right now?"), choice.message])
        next.messages.append(ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", content: [.text(#"{"temp_c":18,"conditions":"light rain"}"#)]))]))
        next.tools = [Self.weatherTool]
        next.toolChoice = .auto
        next.maxTokens = 1024
        #expect(Self.withoutCanonicalGaps(try encoded(next).body) == Self.withoutCanonicalGaps(try Fixtures.json("bedrock/converse_request_tool_result.json")))
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.filter(\.isHexDigit))
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    @Test func streamFixtureBecomesCanonicalEventsUsageLast() throws {
        let bytes = Self.hexBytes(try Fixtures.text("bedrock/converse_stream_text_tool_use.hex"))
        var decoder = BedrockStreamDecoder(model: "anthropic.claude")
        var events: [ChatEvent] = []
        for chunk in stride(from: 0, to: bytes.count, by: 37) { events += try decoder.decode(ByteBuffer(bytes: bytes[chunk..<min(bytes.count, chunk + 37)])) }
        events += try decoder.finish()
        let result = Reassembled(events)
        #expect(result.text == "Let me check the weather.")
        #expect(result.calls[0]?.id == "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q" && result.calls[0]?.arguments == #"{"city": "Paris"}"#)
        #expect(result.finish == .toolCalls)
        #expect(result.usage == Usage(promptTokens: 412, completionTokens: 58))
        #expect(events.last.map { if case .usage = $0 { true } else { false } } == true)
    }

    @Test func anExceptionFrameMidStreamIsAClassifiedFailure() throws {
        let whole = Self.hexBytes(try Fixtures.text("bedrock/converse_stream_text_tool_use.hex"))
        let exception = Self.hexBytes(try Fixtures.text("bedrock/converse_stream_throttling_exception.hex"))
        var decoder = BedrockStreamDecoder(model: "m")
        // The first three frames (start and two text deltas), then the vendor's throttling exception.
        var frames = AWSEventStreamDecoder()
        let first = try frames.decode(ByteBuffer(bytes: whole)).prefix(3).flatMap { $0.encoded() }
        #expect(Reassembled(try decoder.decode(ByteBuffer(bytes: first))).text == "Let me check the weather.")
        #expect { try decoder.decode(ByteBuffer(bytes: exception)) } throws: { ($0 as? UpstreamFailure)?.kind == .rateLimited }
        var truncated = BedrockStreamDecoder(model: "m")
        _ = try truncated.decode(ByteBuffer(bytes: first))
        #expect(throws: UpstreamFailure.self) { try truncated.finish() }
    }

    @Test(arguments: [("bedrock/error_throttling_429.json", FailureKind.rateLimited), ("bedrock/error_validation_context_400.json", .contextLengthExceeded)])
    func errorFixturesClassify(file: String, kind: FailureKind) throws {
        let fixture = try Fixtures.json(file)
        var headers = HeaderFields()
        for (name, value) in fixture["headers"]?.objectValue ?? [:] { headers.add(name, value.stringValue ?? "") }
        let failure = Self.provider().classifyFailure(head: head(fixture["status"]?.intValue ?? 0, headers), body: buffer(fixture["body"] ?? [:]))
        #expect(failure.kind == kind)
    }

    @Test func accessDeniedForOneModelIsTheTargetsNotTheCredentials() {
        func kind(_ type: String, _ message: String, status: Int = 403) -> FailureKind {
            Self.provider().classifyFailure(head: head(status, ["x-amzn-ErrorType": "\(type):http://internal"]), body: buffer(["message": .string(message)])).kind
        }
        #expect(kind("AccessDeniedException", "You don't have access to the model with the specified model ID.") == .modelNotFound)
        #expect(kind("AccessDeniedException", "User is not authorized to perform: bedrock:InvokeModel") == .authFailed)
        #expect(kind("ExpiredTokenException", "The security token included in the request is expired") == .authFailed)
        #expect(kind("ModelNotReadyException", "not ready", status: 429) == .unavailable)
        #expect(kind("ModelStreamErrorException", "boom", status: 424) == .unavailable)
        #expect(kind("ValidationException", "Invocation of model ID x with on-demand throughput isn't supported.", status: 400) == .modelNotFound)
    }

    @Test func toolConfigSurvivesAHistoryWithoutTools() throws {
        var request = ChatRequest(model: "m", messages: [.text(.user, "hi")])
        request.messages.append(ChatMessage(role: .assistant, parts: [.toolCall(ToolCall(id: "call.1/x", name: "lookup", arguments: "{}"))]))
        request.messages.append(ChatMessage(role: .tool, parts: [.toolResult(ToolResult(callID: "call.1/x", content: [.text("done")], isError: true))]))
        let body = try encoded(request).body
        #expect(body["toolConfig"]?["tools"]?[0]?["toolSpec"]?["name"] == "lookup")
        let useID = body["messages"]?[1]?["content"]?[0]?["toolUse"]?["toolUseId"]?.stringValue
        #expect(useID == body["messages"]?[2]?["content"]?[0]?["toolResult"]?["toolUseId"]?.stringValue)
        #expect(useID?.contains("/") == false)
        #expect(body["messages"]?[2]?["content"]?[0]?["toolResult"]?["status"] == "error")
    }

    @Test func credentialSourcesAreReadInOrder() throws {
        let directory = NSTemporaryDirectory() + "switchyard-aws-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[prod]\naws_access_key_id=AKIDPROD\naws_secret_access_key=s2\naws_session_token=t2\n"
            .write(toFile: directory + "/credentials", atomically: true, encoding: .utf8)
        func options(_ yaml: String, _ environment: [String: String]) throws -> BedrockOptions {
            let config = try ConfigLoader.parse("providers:\n  aws: {type: bedrock\(yaml)}\n", environment: environment)
            return try #require(config.providers.first?.options as? BedrockOptions)
        }
        let file = ["AWS_SHARED_CREDENTIALS_FILE": directory + "/credentials", "AWS_REGION": "eu-west-1"]
        #expect(try options("", file).signing?.accessKeyID == "AKIDDEFAULT")
        #expect(try options("", file).region == "eu-west-1")
        #expect(try options(", profile: prod", file).signing == .init(accessKeyID: "AKIDPROD", secretAccessKey: "s2", sessionToken: "t2"))
        let environment = file.merging(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s3"]) { $1 }
        #expect(try options("", environment).signing?.accessKeyID == "AKIDENV")
        #expect(try options("", environment.merging(["AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key"]) { $1 }).environmentAPIKey == "bedrock-api-key")
        #expect(try options(", aws: {access_key_id: AKIDCFG, secret_access_key: s4}", environment).signing?.accessKeyID == "AKIDCFG")
    }

    /// Claude's thinking is asked for in Bedrock's own field; Claude's signed reasoning goes back as
    /// reasoningContent, another family's never; a JSON schema goes as a string.
    @Test func reasoningAndStructuredOutput() throws {
        var request = ChatRequest(model: "m", messages: [.text(.user, "hi")])
        request.reasoning = .budget(tokens: 2000)
        request.maxTokens = 500
        request.sampling.temperature = 0.3
        request.messages.append(
            ChatMessage(
                role: .assistant,
                parts: [
                    .reasoning(ReasoningPart(text: "Hmm.", signature: ReasoningSignature(family: .anthropic, value: "sig-claude"))),
                    .reasoning(ReasoningPart(text: "", signature: ReasoningSignature(family: .gemini, value: "sig-gemini"))), .text("Answer."),
                ]))
        request.messages.append(.text(.user, "More?"))
        request.responseFormat = .jsonSchema(name: "answer", description: nil, schema: ["type": "object"], strict: true)
        let body = try encoded(request, model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0").body
        #expect(body["additionalModelRequestFields"]?["thinking"] == ["type": "enabled", "budget_tokens": 2000])
        #expect(body["inferenceConfig"] == ["maxTokens": 2500])
        #expect(body["messages"]?[1]?["content"]?[0] == ["reasoningContent": ["reasoningText": ["text": "Hmm.", "signature": "sig-claude"]]])
        #expect(!body.jsonString.contains("sig-gemini"))
        #expect(body["outputConfig"]?["textFormat"]?["structure"]?["jsonSchema"]?["schema"] == #"{"type":"object"}"#)
        #expect(try encoded(request, model: "amazon.nova-pro-v1:0").body["additionalModelRequestFields"] == nil)
    }
}
