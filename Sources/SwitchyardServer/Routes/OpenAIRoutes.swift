import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// The OpenAI-only endpoints: embeddings and the model list.
extension ChatHandler where Dialect == OpenAIDialect {
    func handleEmbeddings(_ request: Request, context: GatewayRequestContext) async -> Response {
        await respond(to: request, context: context) { key, snapshot, requestID, logger in
            let body = try await readBody(request, limit: snapshot.config.maxBodyBytes)
            let embeddings = try OpenAIRequestDecoder.decodeEmbeddings(try parseRequestObject(body.readableBytesView))
            let route = try snapshot.table.resolve(model: embeddings.model, key: key)
            let (response, report) = try await snapshot.executor.embeddings(embeddings, route: route, table: snapshot.table, logger: logger)
            return jsonResponse(OpenAIResponseEncoder.encodeEmbeddings(response, encodingFormat: embeddings.encodingFormat), requestID: requestID, report: report)
        }
    }

    func handleModels(_ request: Request, context: GatewayRequestContext) async -> Response {
        await respond(to: request, context: context) { key, snapshot, requestID, _ in
            let created = currentUnixTime()
            let models = snapshot.table.visibleModels(for: key).map { name -> JSONValue in
                ["id": .string(name), "object": "model", "created": .int(created), "owned_by": name.contains("/") ? "switchyard-target" : "switchyard"]
            }
            return jsonResponse(["object": "list", "data": .array(models)], requestID: requestID, report: nil)
        }
    }
}
