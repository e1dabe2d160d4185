import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
public import SwitchyardCore

/// Serves one ``SimulatedVendor`` over HTTP on loopback.
///
/// OpenAI format: `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`. Anthropic
/// format: `POST /v1/messages`. Both: `POST /oauth/token` (refresh-token and client-credentials grants).
/// API keys starting with `revoked` are rejected with the vendor's real 401 body; keys starting with
/// `failing` get a 500, as during an outage of one account; models starting with `missing` get the
/// vendor's 404.
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
            router.get("/v1/models") { request, _ in
                _ = vendor.record(RecordedRequest(method: "GET", path: "/v1/models", headers: headerMap(request), body: nil, rawBody: ""))
                return jsonResponse(["object": "list", "data": [["id": "sim-model", "object": "model", "created": 1_700_000_000, "owned_by": "simulator"]]])
            }
        case .anthropic:
            router.post("/v1/messages") { request, _ in try await handleChat(request, vendor: vendor) }
        }
        // A webhook receiver, for alert tests: records the body without consuming a scenario.
        router.post("/webhook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let raw = String(buffer: body)
            vendor.recordHook(RecordedRequest(method: "POST", path: "/webhook", headers: headerMap(request), body: try? JSONParser.parse(raw), rawBody: raw))
            return Response(status: .noContent)
        }
        router.post("/oauth/token") { _, _ in
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
        return map
    }

    static func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers extra: [String: String] = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in extra { if let field = HTTPField.Name(name) { headers[field] = value } }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    private static func record(_ request: Request, vendor: SimulatedVendor) async throws -> (RecordedRequest, SimulatorScenario) {
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

    private static func handleChat(_ request: Request, vendor: SimulatedVendor) async throws -> Response {
        let (recorded, scenario) = try await record(request, vendor: vendor)
        if let rejection = rejectCredentials(recorded, vendor: vendor) { return rejection }
        if let model = recorded.body?["model"]?.stringValue, model.hasPrefix("missing") { return unknownModel(model, vendor: vendor) }
        let wire = WireFormat(vendor: vendor, request: recorded)
        switch scenario {
        case .error(let status, let body, let headers):
            return jsonResponse(body, status: HTTPResponse.Status(code: status), headers: headers)
        case .hang(let release):
            // Hold the request open until the test releases it (the client will have given up by then).
            await release.wait()
            return Response(status: .gatewayTimeout)
        case .reply(let reply):
            if reply.firstByteDelay > .zero { try await Task.sleep(for: reply.firstByteDelay) }
            guard recorded.body?["stream"]?.boolValue == true else { return jsonResponse(wire.completeResponse(reply)) }
            return streamResponse(request: request, vendor: vendor, script: wire.streamScript(reply), reply: reply, error: nil)
        case .failMidStream(let chunks, let error):
            let reply = SimulatedReply(text: Array(repeating: "partial ", count: max(chunks, 1)).joined())
            var script = wire.streamScript(reply)
            script.content = Array(script.content.prefix(chunks))
            script.tail = []
            return streamResponse(request: request, vendor: vendor, script: script, reply: reply, error: wire.streamError(error))
        }
    }

    private static func streamResponse(request: Request, vendor: SimulatedVendor, script: StreamScript, reply: SimulatedReply, error: String?) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                do {
                    do {
                        for event in script.lead { try await writer.write(ByteBuffer(string: event)) }
                        for event in script.content {
                            if reply.chunkInterval > .zero { try await Task.sleep(for: reply.chunkInterval) }
                            try Task.checkCancellation()
                            try await writer.write(ByteBuffer(string: event))
                        }
                        if let error {
                            try await writer.write(ByteBuffer(string: error))
                        } else {
                            if let gate = reply.holdBeforeFinish { await gate.wait() }
                            for event in script.tail { try await writer.write(ByteBuffer(string: event)) }
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

    /// The vendor's real 404 for a model it does not have (models named `missing…` in tests).
    private static func unknownModel(_ model: String, vendor: SimulatedVendor) -> Response {
        switch vendor.format {
        case .openai:
            return jsonResponse(
                ["error": ["message": .string("The model `\(model)` does not exist or you do not have access to it."), "type": "invalid_request_error", "param": .null, "code": "model_not_found"]],
                status: .notFound)
        case .anthropic:
            return jsonResponse(["type": "error", "error": ["type": "not_found_error", "message": .string("model: \(model)")]], status: .notFound)
        }
    }

    private static func rejectCredentials(_ request: RecordedRequest, vendor: SimulatedVendor) -> Response? {
        let apiKey = request.headers["x-api-key"]
        let bearer = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        if (apiKey ?? bearer ?? "").hasPrefix("failing") {
            // An account-level outage: this key's requests fail with a server error.
            return jsonResponse(["error": ["message": "The server had an error processing your request.", "type": "server_error", "param": .null, "code": .null]], status: .internalServerError)
        }
        let rejected: Bool
        if vendor.format == .anthropic, apiKey == nil, let bearer {
            rejected = !vendor.acceptsToken(bearer)
        } else {
            rejected = (apiKey ?? bearer ?? "").hasPrefix("revoked")
        }
        guard rejected else { return nil }
        switch vendor.format {
        case .openai:
            return jsonResponse(
                ["error": ["message": "Incorrect API key provided: sk-****. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": .null, "code": "invalid_api_key"]],
                status: .unauthorized)
        case .anthropic:
            return jsonResponse(
                ["type": "error", "error": ["type": "authentication_error", "message": "invalid x-api-key"], "request_id": "req_sim"], status: .unauthorized)
        }
    }
}
