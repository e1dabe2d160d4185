import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import SwitchyardCore

/// Serves one ``SimulatedVendor`` over HTTP on loopback.
///
/// OpenAI format: `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`. Anthropic
/// format: `POST /v1/messages`. Gemini: `POST /{v1beta|v1}/models/{model}:{generateContent|
/// streamGenerateContent|embedContent|batchEmbedContents}`. Vertex: `POST /v1/projects/{p}/locations/{l}/
/// publishers/{google|anthropic}/models/{model}:{method}` (Claude through `rawPredict`/`streamRawPredict`).
/// All: `POST /oauth/token` (refresh-token, client-credentials and, for service accounts, JWT-bearer
/// grants; JWTs are verified against the trusted public keys). API keys starting with `revoked` are
/// rejected with the vendor's real auth error; keys starting with `failing` get a 500, as during an outage
/// of one account; models starting with `missing` get the vendor's 404.
public enum SimulatorServer {
    /// The application; bind port 0 and read the port from `onRunning`.
    public static func makeApplication(
        vendor: SimulatedVendor, host: String = "127.0.0.1", port: Int = 0, logger: Logger? = nil,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        switch vendor.format {
        case .openai:
            router.post("/v1/chat/completions") { request, _ in try await handleChat(request, vendor: vendor) }
            router.post("/v1/embeddings") { request, _ in try await handleEmbeddings(request, vendor: vendor) }
            router.post("/v1/responses") { request, _ in try await handleResponses(request, vendor: vendor) }
            router.get("/v1/models") { request, _ in
                _ = vendor.record(RecordedRequest(method: "GET", path: "/v1/models", headers: headerMap(request), body: nil, rawBody: ""))
                return jsonResponse(["object": "list", "data": [["id": "sim-model", "object": "model", "created": 1_700_000_000, "owned_by": "simulator"]]])
            }
        case .anthropic:
            router.post("/v1/messages") { request, _ in try await handleChat(request, vendor: vendor) }
            router.post("/v1/messages/count_tokens") { request, _ in try await handleCountTokens(request, vendor: vendor, shape: .anthropic) }
        case .gemini:
            router.post("/:version/models/:action") { request, context in
                try await handleGoogle(request, vendor: vendor, action: context.parameters.get("action") ?? "", publisher: "google")
            }
        case .bedrock:
            router.post("/model/:model/converse") { request, context in
                try await handleBedrock(request, vendor: vendor, model: context.parameters.get("model") ?? "", stream: false)
            }
            router.post("/model/:model/converse-stream") { request, context in
                try await handleBedrock(request, vendor: vendor, model: context.parameters.get("model") ?? "", stream: true)
            }
            router.post("/model/:model/count-tokens") { request, _ in
                let (recorded, scenario) = try await record(request, vendor: vendor)
                if let refusal = verifyAWSAuthorization(recorded, rawURI: request.uri.string, vendor: vendor) { return refusal }
                return try await handleCountTokens(request, vendor: vendor, shape: .bedrock, recorded: (recorded, scenario))
            }
        case .azure:
            router.post("/openai/deployments/:deployment/chat/completions") { request, context in
                guard request.uri.queryParameters["api-version"] != nil else { return azureNotFound() }
                return try await handleChat(request, vendor: vendor, wire: .openai, model: context.parameters.get("deployment"), azure: true)
            }
            router.post("/openai/v1/chat/completions") { request, _ in try await handleChat(request, vendor: vendor, wire: .openai, azure: true) }
            router.post("/openai/deployments/:deployment/embeddings") { request, _ in try await handleEmbeddings(request, vendor: vendor) }
            router.post("/openai/v1/embeddings") { request, _ in try await handleEmbeddings(request, vendor: vendor) }
        case .vertex:
            router.post("/:version/projects/:project/locations/:location/publishers/:publisher/models/:action") { request, context in
                try await handleGoogle(
                    request, vendor: vendor, action: context.parameters.get("action") ?? "", publisher: context.parameters.get("publisher") ?? "")
            }
        }
        // Simulator controls (not part of any vendor's API): the vendor revokes every API key, or restores them.
        router.post("/simulator/revoke-keys") { _, _ in
            vendor.setKeysRevoked(true)
            return jsonResponse(["vendor": .string(vendor.name), "keys": "revoked"])
        }
        router.post("/simulator/restore-keys") { _, _ in
            vendor.setKeysRevoked(false)
            return jsonResponse(["vendor": .string(vendor.name), "keys": "accepted"])
        }
        // For scripts that drive the gateway with the official SDKs: queue an exact answer, read what was sent.
        router.post("/simulator/enqueue") { request, _ in
            let body = try? JSONParser.parse(String(buffer: try await request.body.collect(upTo: 16 << 20)))
            // `{"reply": {"text", "tool_calls": [{"name", "arguments"}], "reasoning"}}`: an answer in this vendor's own format, streamed or not.
            if let reply = body?["reply"] {
                let calls = (reply["tool_calls"]?.arrayValue ?? []).map { call in
                    (name: call["name"]?.stringValue ?? "tool", arguments: call["arguments"]?.stringValue ?? "{}")
                }
                vendor.enqueue(.reply(SimulatedReply(text: reply["text"]?.stringValue ?? "", toolCalls: calls, reasoning: reply["reasoning"]?.stringValue)))
                return jsonResponse(["queued": true])
            }
            guard let text = body?["body"]?.stringValue else {
                return jsonResponse(["error": "expected {\"status\":200,\"content_type\":\"…\",\"body\":\"…\"} or {\"reply\":{…}}"], status: .badRequest)
            }
            vendor.enqueue(
                .verbatim(status: body?["status"]?.intValue ?? 200, contentType: body?["content_type"]?.stringValue ?? "application/json", body: text))
            return jsonResponse(["queued": true])
        }
        router.get("/simulator/last-request") { _, _ in
            guard let last = vendor.requests.last else { return jsonResponse(["error": "no request yet"], status: .notFound) }
            return jsonResponse(["path": .string(last.path), "body": last.body ?? .null])
        }
        // A webhook receiver, for alert tests: records the body without consuming a scenario.
        router.post("/webhook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let raw = String(buffer: body)
            vendor.recordHook(RecordedRequest(method: "POST", path: "/webhook", headers: headerMap(request), body: try? JSONParser.parse(raw), rawBody: raw))
            return Response(status: .noContent)
        }
        router.post("/oauth/token") { request, _ in
            let form = String(buffer: try await request.body.collect(upTo: 1 << 16))
            if let assertion = formValue("assertion", in: form), formValue("grant_type", in: form) == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
                if case .rejected(let reason) = JWTVerifier.verify(assertion, keyFor: vendor.serviceAccountKey(email:)) {
                    _ = vendor.issueTokenRequestRejected()
                    return jsonResponse(["error": "invalid_grant", "error_description": .string(reason)], status: .badRequest)
                }
            }
            let issued = vendor.issueToken()
            guard let token = issued.token else {
                return jsonResponse(["error": "invalid_grant", "error_description": "The refresh token is invalid or revoked."], status: .badRequest)
            }
            return jsonResponse(["access_token": .string(token), "token_type": "Bearer", "expires_in": .int(issued.lifetime)])
        }
        var quiet = logger ?? Logger(label: "switchyard.simulator")
        if logger == nil { quiet.logLevel = .critical }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil, backlog: 4096),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: quiet)
    }

    static func headerMap(_ request: Request) -> [String: String] {
        var map: [String: String] = [:]
        for field in request.headers { map[field.name.canonicalName.lowercased()] = field.value }
        // HTTP/1's Host header arrives as the request's authority.
        if let authority = request.head.authority { map["host"] = authority }
        return map
    }

    static func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers extra: [String: String] = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in extra { if let field = HTTPField.Name(name) { headers[field] = value } }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    static func record(_ request: Request, vendor: SimulatedVendor) async throws -> (RecordedRequest, SimulatorScenario) {
        let body = try await request.body.collect(upTo: 64 << 20)
        let raw = String(buffer: body)
        let recorded = RecordedRequest(
            method: request.method.rawValue, path: request.uri.path, headers: headerMap(request), body: try? JSONParser.parse(raw), rawBody: raw)
        return (recorded, vendor.record(recorded))
    }

    private static func handleEmbeddings(_ request: Request, vendor: SimulatedVendor) async throws -> Response {
        let (recorded, scenario) = try await record(request, vendor: vendor)
        if case .error(let status, let body, let headers) = scenario {
            return jsonResponse(body, status: HTTPResponse.Status(code: status), headers: headers)
        }
        let inputs: [JSONValue] = recorded.body?["input"]?.arrayValue ?? [recorded.body?["input"] ?? ""]
        let dimensions = recorded.body?["dimensions"]?.intValue ?? 3
        let data = inputs.enumerated().map { offset, _ -> JSONValue in
            let vector = (0..<dimensions).map { JSONValue.double(Double(($0 + offset) % 7) / 10 + 0.001) }
            return ["object": "embedding", "index": .int(offset), "embedding": .array(vector)]
        }
        return jsonResponse([
            "object": "list", "data": .array(data), "model": recorded.body?["model"] ?? "sim-embedding",
            "usage": ["prompt_tokens": .int(inputs.count * 5), "total_tokens": .int(inputs.count * 5)],
        ])
    }

    static func formValue(_ name: String, in form: String) -> String? {
        for pair in form.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return String(parts[1]).removingPercentEncoding }
        }
        return nil
    }

    /// Gemini API and Vertex AI calls: `{model}:{method}` in the last path segment.
    private static func handleGoogle(_ request: Request, vendor: SimulatedVendor, action: String, publisher: String) async throws -> Response {
        guard let colon = action.lastIndex(of: ":") else { return googleError(404, "NOT_FOUND", "Method not found.") }
        let model = String(action[..<colon])
        let method = String(action[action.index(after: colon)...])
        switch (publisher, method) {
        case ("google", "generateContent"), ("google", "streamGenerateContent"):
            return try await handleChat(request, vendor: vendor, wire: .gemini, model: model, stream: method == "streamGenerateContent")
        case ("google", "embedContent"), ("google", "batchEmbedContents"):
            return try await handleGoogleEmbeddings(request, vendor: vendor, model: model)
        case ("google", "countTokens"):
            return try await handleCountTokens(request, vendor: vendor, shape: .google)
        case ("anthropic", "rawPredict") where model == "count-tokens":
            return try await handleCountTokens(request, vendor: vendor, shape: .anthropic)
        case ("anthropic", "rawPredict"), ("anthropic", "streamRawPredict"):
            return try await handleChat(request, vendor: vendor, wire: .anthropic, model: model, stream: method == "streamRawPredict")
        default:
            return googleError(404, "NOT_FOUND", "Publisher \(publisher) has no method \(method).")
        }
    }

    static func googleError(_ code: Int, _ status: String, _ message: String, details: [JSONValue] = []) -> Response {
        var error: JSONObject = ["code": .int(code), "message": .string(message), "status": .string(status)]
        if !details.isEmpty { error["details"] = .array(details) }
        return jsonResponse(["error": .object(error)], status: HTTPResponse.Status(code: code))
    }

    private static func handleGoogleEmbeddings(_ request: Request, vendor: SimulatedVendor, model: String) async throws -> Response {
        let (recorded, scenario) = try await record(request, vendor: vendor)
        if let rejection = rejectCredentials(recorded, vendor: vendor, wire: .gemini) { return rejection }
        if case .error(let status, let body, let headers) = scenario {
            return jsonResponse(body, status: HTTPResponse.Status(code: status), headers: headers)
        }
        let count = recorded.body?["requests"]?.arrayValue?.count
        let dimensions = recorded.body?["outputDimensionality"]?.intValue ?? 3
        let vectors = (0..<(count ?? 1)).map { offset -> JSONValue in
            ["values": .array((0..<dimensions).map { JSONValue.double(Double(($0 + offset) % 7) / 10 + 0.001) })]
        }
        return jsonResponse(count == nil ? ["embedding": vectors[0]] : ["embeddings": .array(vectors)])
    }

    private static func streamContentType(_ wire: SimulatedWire) -> String {
        wire == .bedrock ? "application/vnd.amazon.eventstream" : "text/event-stream"
    }

    private static func azureNotFound() -> Response {
        jsonResponse(["error": ["code": "404", "message": "Resource not found"]], status: .notFound)
    }

    static func handleChat(
        _ request: Request, vendor: SimulatedVendor, wire: SimulatedWire? = nil, model pathModel: String? = nil, stream pathStream: Bool? = nil,
        azure: Bool = false, recorded earlier: (RecordedRequest, SimulatorScenario)? = nil
    ) async throws -> Response {
        let recorded: RecordedRequest
        let scenario: SimulatorScenario
        if let earlier { (recorded, scenario) = earlier } else { (recorded, scenario) = try await record(request, vendor: vendor) }
        let wireFormat = wire ?? (vendor.format == .anthropic ? .anthropic : .openai)
        if let rejection = rejectCredentials(recorded, vendor: vendor, wire: wireFormat) { return rejection }
        let model = pathModel ?? recorded.body?["model"]?.stringValue ?? "sim-model"
        if model.hasPrefix("missing") { return unknownModel(model, wire: wireFormat, vendor: vendor) }
        if let refusal = refuseMalformed(recorded, vendor: vendor, wire: wireFormat, model: model) { return refusal }
        let wire = WireFormat(wire: wireFormat, model: model, request: recorded, azure: azure)
        let streams = pathStream ?? (recorded.body?["stream"]?.boolValue == true)
        switch scenario {
        case .error(let status, let body, let headers):
            return jsonResponse(body, status: HTTPResponse.Status(code: status), headers: headers)
        case .hang(let release):
            // Hold the request open until the test releases it (the client will have given up by then).
            await release.wait()
            return Response(status: .gatewayTimeout)
        case .reply(let reply):
            if reply.firstByteDelay > .zero { try await Task.sleep(for: reply.firstByteDelay) }
            vendor.noteReportedUsage(prompt: wire.promptTokens, completion: wire.completionTokens(reply))
            guard streams else { return jsonResponse(wire.completeResponse(reply)) }
            return streamResponse(
                request: request, vendor: vendor, script: wire.streamScript(reply), reply: reply, error: nil, contentType: streamContentType(wireFormat))
        case .verbatim(let status, let contentType, let body):
            var headers = HTTPFields()
            headers[.contentType] = contentType
            return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        case .failMidStream(let chunks, let error):
            let reply = SimulatedReply(text: Array(repeating: "partial ", count: max(chunks, 1)).joined())
            var script = wire.streamScript(reply)
            script.content = Array(script.content.prefix(chunks))
            script.tail = []
            return streamResponse(
                request: request, vendor: vendor, script: script, reply: reply, error: wire.streamError(error), contentType: streamContentType(wireFormat))
        }
    }

    static func streamResponse(
        request: Request, vendor: SimulatedVendor, script: StreamScript, reply: SimulatedReply, error: [UInt8]?, contentType: String = "text/event-stream"
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    do {
                        for event in script.lead { try await writer.write(ByteBuffer(bytes: event)) }
                        for event in script.content {
                            if reply.chunkInterval > .zero { try await Task.sleep(for: reply.chunkInterval) }
                            try Task.checkCancellation()
                            try await writer.write(ByteBuffer(bytes: event))
                        }
                        if let error {
                            try await writer.write(ByteBuffer(bytes: error))
                        } else {
                            if let gate = reply.holdBeforeFinish { await gate.wait() }
                            for event in script.tail { try await writer.write(ByteBuffer(bytes: event)) }
                        }
                    }
                } catch {
                    vendor.emit(.streamCancelled)
                    throw error
                }
                vendor.emit(.streamCompleted)
                try await writer.finish(nil)
            })
    }

    /// What the real vendors refuse that a translator could get wrong: Claude on Vertex takes no `model`
    /// in the body and needs Vertex's `anthropic_version`; Gemini 3 needs a thought signature on the first
    /// function call of each model turn it is shown.
    private static func refuseMalformed(_ request: RecordedRequest, vendor: SimulatedVendor, wire: SimulatedWire, model: String) -> Response? {
        if vendor.format == .vertex, wire == .anthropic {
            if request.body?["model"] != nil {
                return jsonResponse(["type": "error", "error": ["type": "invalid_request_error", "message": "model: Extra inputs are not permitted"]], status: .badRequest)
            }
            if request.body?["anthropic_version"]?.stringValue != "vertex-2023-10-16" {
                return jsonResponse(["type": "error", "error": ["type": "invalid_request_error", "message": "anthropic_version: vertex-2023-10-16 is required"]], status: .badRequest)
            }
        }
        if wire == .gemini, model.hasPrefix("gemini-3") {
            for content in request.body?["contents"]?.arrayValue ?? [] where content["role"]?.stringValue == "model" {
                let firstCall = content["parts"]?.arrayValue?.first { $0["functionCall"] != nil }
                if let firstCall, firstCall["thoughtSignature"] == nil {
                    return googleError(400, "INVALID_ARGUMENT", "Function call is missing a thought_signature in functionCall parts.")
                }
            }
        }
        return nil
    }

    /// The vendor's real 404 for a model it does not have (models named `missing…` in tests).
    private static func unknownModel(_ model: String, wire: SimulatedWire, vendor: SimulatedVendor) -> Response {
        if vendor.format == .bedrock { return bedrockError(400, "ValidationException", "The provided model identifier is invalid.") }
        if vendor.format == .azure {
            return jsonResponse(
                ["error": ["code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."]],
                status: .notFound)
        }
        if vendor.format == .gemini || (vendor.format == .vertex && wire == .gemini) {
            return googleError(404, "NOT_FOUND", "models/\(model) is not found for API version v1beta, or is not supported for generateContent.")
        }
        switch wire {
        case .openai:
            return jsonResponse(
                ["error": ["message": .string("The model `\(model)` does not exist or you do not have access to it."), "type": "invalid_request_error", "param": .null, "code": "model_not_found"]],
                status: .notFound)
        case .anthropic, .gemini, .bedrock:
            return jsonResponse(["type": "error", "error": ["type": "not_found_error", "message": .string("model: \(model)")]], status: .notFound)
        }
    }

    private static func rejectCredentials(_ request: RecordedRequest, vendor: SimulatedVendor, wire: SimulatedWire) -> Response? {
        if vendor.format == .gemini || vendor.format == .vertex { return rejectGoogleCredentials(request, vendor: vendor) }
        if vendor.format == .bedrock { return nil }  // verified before the scenario is read (SigV4 or API key)
        if vendor.format == .azure { return rejectAzureCredentials(request, vendor: vendor) }
        let apiKey = request.headers["x-api-key"]
        let bearer = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if (apiKey ?? bearer ?? "").hasPrefix("failing") {
            // An account-level outage: this key's requests fail with a server error.
            return jsonResponse(["error": ["message": "The server had an error processing your request.", "type": "server_error", "param": .null, "code": .null]], status: .internalServerError)
        }
        let rejected: Bool
        if vendor.keysRevoked {
            rejected = true
        } else if vendor.format == .anthropic, apiKey == nil, let bearer {
            rejected = !vendor.acceptsToken(bearer)
        } else {
            rejected = (apiKey ?? bearer ?? "").hasPrefix("revoked")
        }
        guard rejected else { return nil }
        switch wire {
        case .openai:
            return jsonResponse(
                ["error": ["message": "Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": .null, "code": "invalid_api_key"]],
                status: .unauthorized)
        case .anthropic, .gemini, .bedrock:
            return jsonResponse(
                ["type": "error", "error": ["type": "authentication_error", "message": "invalid x-api-key"], "request_id": "req_sim"], status: .unauthorized)
        }
    }

    /// Azure takes `api-key` or an Entra bearer token its token endpoint issued.
    private static func rejectAzureCredentials(_ request: RecordedRequest, vendor: SimulatedVendor) -> Response? {
        let apiKey = request.headers["api-key"]
        let bearer = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if (apiKey ?? "").hasPrefix("failing") {
            return jsonResponse(["error": ["code": "InternalServerError", "message": "The server had an error processing your request."]], status: .internalServerError)
        }
        let accepted: Bool
        if let apiKey { accepted = !apiKey.hasPrefix("revoked") && !vendor.keysRevoked } else { accepted = bearer.map(vendor.acceptsToken) ?? false }
        guard !accepted else { return nil }
        return jsonResponse(
            ["error": ["code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."]],
            status: .unauthorized)
    }

    /// Gemini takes `x-goog-api-key` (a bad key is a 400 `API_KEY_INVALID`); Vertex takes bearer tokens
    /// its token endpoint issued (else 401 `UNAUTHENTICATED`), or an express-mode API key.
    private static func rejectGoogleCredentials(_ request: RecordedRequest, vendor: SimulatedVendor) -> Response? {
        let apiKey = request.headers["x-goog-api-key"]
        let bearer = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if (apiKey ?? "").hasPrefix("failing") { return googleError(500, "INTERNAL", "Internal error encountered.") }
        if let apiKey {
            guard apiKey.hasPrefix("revoked") || vendor.keysRevoked else { return nil }
            return googleError(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                details: [["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"]])
        }
        if vendor.format == .vertex, let bearer, vendor.acceptsToken(bearer) { return nil }
        return googleError(
            401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
    }
}
