import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// The OpenAI-only endpoints: embeddings and the model list.
extension ChatHandler where Dialect == OpenAIDialect {
    func handleEmbeddings(_ request: Request, body: CollectedRequestBody) async -> Response {
        await respond(to: request) { key, snapshot, requestID, logger in
            let body = try readBody(body, limit: snapshot.config.maxBodyBytes)
            let embeddings = try OpenAIRequestDecoder.decodeEmbeddings(try parseRequestObject(body.readableBytesView))
            var route = try snapshot.table.resolve(model: embeddings.model, key: key)
            route.estimatedTokens = (TokenEstimate.prompt(of: embeddings), 0)
            var accounting = RequestAccounting(
                log: gateway.requestLog, prices: snapshot.table.config.priceBook, requestID: requestID, keyName: key?.name, dialect: metrics.dialect,
                route: route.name, stream: false, estimatedPromptTokens: route.estimatedTokens.input)
            accounting.routeMetrics = route.metrics
            // Embeddings go through the same limits and budget as chat.
            if let key, key.limits != nil || key.budget != nil, let state = gateway.keyState(for: key, in: snapshot.table) {
                accounting.keyState = state
                accounting.alert = gateway.alert
                accounting.reservation = try Self.admit(key: key, state: state, route: route, gateway: gateway)
            }
            let (response, report) = try await accounting.recordingFailure {
                () async throws(ExecutionFailure) in try await snapshot.executor.embeddings(embeddings, route: route, table: snapshot.table, logger: logger)
            }
            accounting.finish(status: 200, report: report, usage: Usage(promptTokens: response.promptTokens), firstByteAt: .now)
            return jsonResponse(OpenAIResponseEncoder.encodeEmbeddings(response, encodingFormat: embeddings.encodingFormat), requestID: requestID, report: report)
        }
    }

    func handleModels(_ request: Request) async -> Response {
        await respond(to: request) { key, snapshot, requestID, _ in
            let created = currentUnixTime()
            let models = snapshot.table.visibleModels(for: key).map { name -> JSONValue in
                ["id": .string(name), "object": "model", "created": .int(created), "owned_by": name.contains("/") ? "switchyard-target" : "switchyard"]
            }
            return jsonResponse(["object": "list", "data": .array(models)], requestID: requestID, report: nil)
        }
    }
}
