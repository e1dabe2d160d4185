import AsyncHTTPClient
import Foundation
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

/// One provider adapter under test: its type in the config and the wire format its simulator speaks.
struct AdapterCase: Sendable, CustomTestStringConvertible {
    /// The error vocabulary of the answers: Vertex speaks Google's for Gemini and Anthropic's for Claude.
    enum Wire: Sendable {
        case openai
        case anthropic
        case google
        case bedrock
    }

    let name: String
    let type: String
    let format: SimulatedVendor.Format
    let model: String
    let wire: Wire
    /// Config keys beyond `type`, `base_url` and `keys`, and whether `keys` is used.
    var extraConfig = ""
    var usesKeys = true
    /// Whether the credential mints tokens (a 401 is refreshed and retried, so 403 stands for auth failure).
    var mintsTokens = false

    var testDescription: String { name }

    /// The vendor's own error body for a failure, as its API sends it; `errorType` is the vendor's type
    /// (OpenAI, Anthropic) or status (Google).
    func errorBody(type errorType: String, message: String, code: String? = nil, status: Int = 400) -> JSONValue {
        switch wire {
        case .openai:
            return ["error": ["message": .string(message), "type": .string(errorType), "param": .null, "code": code.map(JSONValue.string) ?? .null]]
        case .anthropic:
            return ["type": "error", "error": ["type": .string(errorType), "message": .string(message)]]
        case .google:
            return ["error": ["code": .int(status), "message": .string(message), "status": .string(errorType)]]
        case .bedrock:
            return ["__type": .string(errorType), "message": .string(message)]  // the simulator puts the type in x-amzn-ErrorType
        }
    }

    /// Prepares the simulator (a Vertex one must trust the test service account).
    func prepare(_ vendor: SimulatedVendor) throws {
        if format == .bedrock { vendor.trustAWSCredentials(accessKeyID: "AKIDSIMULATOR", secretAccessKey: "sim/secret+KEY") }
        guard format == .vertex else { return }
        let vector = try Fixtures.json("vertex/service_account_jwt_vector.json")
        vendor.trustServiceAccount(
            email: vector["service_account_json"]?["client_email"]?.stringValue ?? "", publicKeyPEM: vector["public_key_pem"]?.stringValue ?? "")
    }

    /// The test service account's key file (the recorded vector's test-only key).
    static let serviceAccountFile: String = {
        let path = NSTemporaryDirectory() + "switchyard-test-service-account-\(ProcessInfo.processInfo.processIdentifier).json"
        let text = (try? Fixtures.json("vertex/service_account_jwt_vector.json"))?["service_account_json"]?.jsonString ?? "{}"
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static let vertexConfig = "project: test-project-123, location: us-east5, service_account: \"${file:\(serviceAccountFile)}\", token_url: \"http://127.0.0.1:{{x}}/oauth/token\""

    static let all = [
        AdapterCase(name: "openai", type: "openai", format: .openai, model: "gpt-4o", wire: .openai),
        AdapterCase(name: "openai-compatible", type: "openai-compatible", format: .openai, model: "llama-3.3-70b", wire: .openai),
        AdapterCase(name: "anthropic", type: "anthropic", format: .anthropic, model: "claude-sonnet-4-5", wire: .anthropic),
        AdapterCase(name: "gemini", type: "gemini", format: .gemini, model: "gemini-2.5-flash", wire: .google),
        AdapterCase(
            name: "vertex (Gemini)", type: "vertex", format: .vertex, model: "gemini-2.5-flash", wire: .google, extraConfig: vertexConfig, usesKeys: false,
            mintsTokens: true),
        AdapterCase(
            name: "vertex (Claude)", type: "vertex", format: .vertex, model: "claude-sonnet-4-5@20250929", wire: .anthropic, extraConfig: vertexConfig,
            usesKeys: false, mintsTokens: true),
        AdapterCase(name: "azure", type: "azure", format: .azure, model: "gpt-4o-prod", wire: .openai, extraConfig: "api_version: 2024-10-21"),
        AdapterCase(name: "azure (v1 API)", type: "azure", format: .azure, model: "gpt-4o-prod", wire: .openai, extraConfig: "api_version: v1"),
        AdapterCase(
            name: "bedrock (SigV4)", type: "bedrock", format: .bedrock, model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", wire: .bedrock,
            extraConfig: #"region: us-east-1, aws: {access_key_id: AKIDSIMULATOR, secret_access_key: "sim/secret+KEY", session_token: tok-1}"#, usesKeys: false),
        AdapterCase(name: "bedrock (API key)", type: "bedrock", format: .bedrock, model: "amazon.nova-pro-v1:0", wire: .bedrock, extraConfig: "region: eu-west-1"),
    ]
}

/// The same scenarios for every provider adapter: text, stream, tools, usage, each failure kind and a
/// mid-stream failure, through the real gateway against a simulator speaking the adapter's wire format.
/// A new adapter joins by adding one line to ``AdapterCase/all``.
@Suite("Adapter conformance")
struct AdapterConformanceTests {
    static func config(_ adapter: AdapterCase) -> String {
        let root = adapter.format == .openai ? "http://127.0.0.1:{{x}}/v1" : "http://127.0.0.1:{{x}}"
        let settings = [adapter.usesKeys ? "keys: [key-x-0]" : "", adapter.extraConfig].filter { !$0.isEmpty }.joined(separator: ", ")
        return """
            listen: 127.0.0.1:0
            providers:
              x: {type: \(adapter.type), base_url: "\(root)", \(settings)}
              backup: {type: openai, base_url: "http://127.0.0.1:{{backup}}/v1", keys: [key-backup]}
            models:
              under-test: x/\(adapter.model)
              with-backup: {targets: [x/\(adapter.model), backup/gpt-4o]}
            routing: {attempts: 3, backoff: {base: 1ms, max: 2ms}}
            """
    }

    static func run(_ adapter: AdapterCase, reply: SimulatedReply? = nil, _ test: @escaping @Sendable (LiveGateway.Context, SimulatedVendor, SimulatedVendor) async throws -> Void) async throws {
        let x = SimulatedVendor(name: "x", format: adapter.format, defaultReply: reply)
        try adapter.prepare(x)
        let backup = SimulatedVendor(name: "backup", format: .openai, defaultReply: SimulatedReply(text: "from backup"))
        try await LiveGateway.run(vendors: [x, backup], config: config(adapter)) { gateway in try await test(gateway, x, backup) }
    }

    static func chat(_ model: String = "under-test", stream: Bool = false) -> JSONValue {
        ["model": .string(model), "stream": .bool(stream), "messages": [["role": "user", "content": "Hello"]]]
    }

    @Test(arguments: AdapterCase.all)
    func textAndUsage(_ adapter: AdapterCase) async throws {
        try await Self.run(adapter, reply: SimulatedReply(text: "Bonjour tout le monde")) { gateway, x, _ in
            let result = try await gateway.post("/v1/chat/completions", json: Self.chat(), key: nil)
            #expect(result.status == 200)
            #expect(result.json?["choices"]?[0]?["message"]?["content"] == "Bonjour tout le monde")
            #expect(result.json?["choices"]?[0]?["finish_reason"] == "stop")
            #expect((result.json?["usage"]?["prompt_tokens"]?.intValue ?? 0) > 0)
            #expect((result.json?["usage"]?["completion_tokens"]?.intValue ?? 0) > 0)
            if adapter.format == .bedrock {
                #expect(x.requests.last?.path.contains("/converse") == true)  // Bedrock names the model in the path
            } else if adapter.format == .gemini || adapter.format == .vertex {
                #expect(x.requests.last?.path.contains("/models/\(adapter.model):") == true)  // Google's APIs name the model in the path
            } else {
                #expect(x.requests.last?.body?["model"]?.stringValue == adapter.model)
            }
        }
    }

    @Test(arguments: AdapterCase.all)
    func streamWithUsage(_ adapter: AdapterCase) async throws {
        try await Self.run(adapter, reply: SimulatedReply(text: "one two three")) { gateway, _, _ in
            var body = Self.chat(stream: true).objectValue!
            body["stream_options"] = ["include_usage": true]
            let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: .object(body), key: nil)
            #expect(response.status.code == 200)
            let events = try await reader.all()
            let text = events.compactMap { $0.json?["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "one two three")
            #expect(events.contains { ($0.json?["usage"]?["completion_tokens"]?.intValue ?? 0) > 0 })
            #expect(events.last?.data == "[DONE]")
        }
    }

    @Test(arguments: AdapterCase.all)
    func toolCalls(_ adapter: AdapterCase) async throws {
        let reply = SimulatedReply(text: "", toolCalls: [(name: "get_weather", arguments: #"{"city":"Paris"}"#)])
        try await Self.run(adapter, reply: reply) { gateway, _, _ in
            var body = Self.chat().objectValue!
            body["tools"] = [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]]]]]
            let result = try await gateway.post("/v1/chat/completions", json: .object(body), key: nil)
            let call = result.json?["choices"]?[0]?["message"]?["tool_calls"]?[0]
            #expect(call?["function"]?["name"] == "get_weather")
            #expect(call?["function"]?["arguments"]?.stringValue.flatMap { try? JSONParser.parse($0) } == ["city": "Paris"])
            #expect(result.json?["choices"]?[0]?["finish_reason"] == "tool_calls")
            body["stream"] = true
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: .object(body), key: nil)
            let events = try await reader.all()
            let arguments = events.compactMap { $0.json?["choices"]?[0]?["delta"]?["tool_calls"]?[0]?["function"]?["arguments"]?.stringValue }.joined()
            #expect((try? JSONParser.parse(arguments)) == ["city": "Paris"])
        }
    }

    /// Each failure kind, sent in the vendor's own error shape: what the client sees and whether it fails over.
    struct FailureCase: Sendable, CustomTestStringConvertible {
        let name: String
        let status: Int
        let openAI: (type: String, code: String?)
        let anthropic: String
        let google: String
        let bedrock: (type: String, status: Int)
        let failsOver: Bool
        let clientStatus: Int?
        var testDescription: String { name }
    }

    static let failures = [
        FailureCase(name: "rate_limited", status: 429, openAI: ("requests", "rate_limit_exceeded"), anthropic: "rate_limit_error", google: "RESOURCE_EXHAUSTED", bedrock: ("ThrottlingException", 429), failsOver: true, clientStatus: nil),
        FailureCase(name: "overloaded", status: 529, openAI: ("server_error", nil), anthropic: "overloaded_error", google: "UNAVAILABLE", bedrock: ("ServiceUnavailableException", 503), failsOver: true, clientStatus: nil),
        FailureCase(name: "unavailable", status: 500, openAI: ("server_error", nil), anthropic: "api_error", google: "INTERNAL", bedrock: ("InternalServerException", 500), failsOver: true, clientStatus: nil),
        FailureCase(name: "auth_failed", status: 401, openAI: ("invalid_request_error", "invalid_api_key"), anthropic: "authentication_error", google: "PERMISSION_DENIED", bedrock: ("UnrecognizedClientException", 403), failsOver: true, clientStatus: nil),
        FailureCase(name: "model_not_found", status: 404, openAI: ("invalid_request_error", "model_not_found"), anthropic: "not_found_error", google: "NOT_FOUND", bedrock: ("ResourceNotFoundException", 404), failsOver: true, clientStatus: nil),
        FailureCase(name: "invalid_request", status: 400, openAI: ("invalid_request_error", nil), anthropic: "invalid_request_error", google: "INVALID_ARGUMENT", bedrock: ("ValidationException", 400), failsOver: false, clientStatus: 400),
    ]

    @Test(arguments: AdapterCase.all, failures)
    func failureKinds(_ adapter: AdapterCase, _ failure: FailureCase) async throws {
        try await Self.run(adapter) { gateway, x, backup in
            let type = switch adapter.wire {
            case .openai: failure.openAI.type
            case .anthropic: failure.anthropic
            case .google: failure.google
            case .bedrock: failure.bedrock.type
            }
            let code = adapter.wire == .openai ? failure.openAI.code : nil
            // A 401 to a token-minting credential is refreshed and resent first; 403 is an auth failure outright.
            let status = adapter.wire == .bedrock ? failure.bedrock.status : adapter.mintsTokens && failure.status == 401 ? 403 : failure.status
            x.enqueue(.error(status: status, body: adapter.errorBody(type: type, message: "simulated \(failure.name)", code: code, status: status)))
            let result = try await gateway.post("/v1/chat/completions", json: Self.chat("with-backup"), key: nil)
            if failure.failsOver {
                #expect(result.status == 200)
                #expect(result.headers.first(name: "x-switchyard-target") == "backup/gpt-4o")
                #expect(backup.requestCount == 1)
            } else {
                #expect(result.status == failure.clientStatus)
                #expect(backup.requestCount == 0)
            }
        }
    }

    @Test(arguments: AdapterCase.all)
    func contextLengthIsTheClientsProblem(_ adapter: AdapterCase) async throws {
        try await Self.run(adapter) { gateway, x, backup in
            let message = "prompt is too long: 250000 tokens > 200000 maximum context length"
            let type = adapter.wire == .google ? "INVALID_ARGUMENT" : adapter.wire == .bedrock ? "ValidationException" : "invalid_request_error"
            x.enqueue(.error(status: 400, body: adapter.errorBody(type: type, message: message, code: adapter.wire == .openai ? "context_length_exceeded" : nil)))
            let result = try await gateway.post("/v1/chat/completions", json: Self.chat("with-backup"), key: nil)
            #expect(result.status == 400)
            #expect(result.json?["error"]?["code"] == "context_length_exceeded")
            #expect(backup.requestCount == 0)
        }
    }

    @Test(arguments: AdapterCase.all)
    func midStreamFailureEndsWithAnErrorEvent(_ adapter: AdapterCase) async throws {
        try await Self.run(adapter) { gateway, x, backup in
            // Two text deltas reach the client first (Anthropic's stream opens the block and pings before them).
            let chunks = adapter.wire == .anthropic ? 4 : 2
            let type = adapter.wire == .google ? "UNAVAILABLE" : "overloaded_error"
            let error: JSONValue =
                adapter.wire == .bedrock
                ? ["exception": "modelStreamErrorException", "message": "Overloaded"] : adapter.errorBody(type: type, message: "Overloaded", status: 503)
            x.enqueue(.failMidStream(afterChunks: chunks, error: error))
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: Self.chat("with-backup", stream: true), key: nil)
            let events = try await reader.all()
            #expect(events.compactMap { $0.json?["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "partial partial")
            #expect(events.last?.json?["error"] != nil)
            #expect(!events.contains { $0.data == "[DONE]" })
            #expect(backup.requestCount == 0, "no failover after the first byte")
        }
    }
}
