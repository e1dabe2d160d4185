import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import SwitchyardCore

/// The OpenAI-only endpoints: embeddings and the model list.
extension ChatHandler where Dialect == OpenAIDialect {
    func handleEmbeddings(_ request: Request, context: some RequestContext) async -> Response {
        let requestID = request.headers[.requestID] ?? makeRequestID()
        var logger = gateway.logger
        logger[metadataKey: "request.id"] = "\(requestID)"
        do {
            let key = try gateway.authenticate(authorization: request.headers[.authorization], apiKey: request.headers[.apiKey])
            let body = try await readBody(request)
            let embeddings = try OpenAIRequestDecoder.decodeEmbeddings(try parseRequestObject(body.readableBytesView))
            let route = try gateway.table.resolve(model: embeddings.model, key: key)
            let (response, report) = try await gateway.executor.embeddings(embeddings, route: route, table: gateway.table, logger: logger)
            return Response(
                status: .ok, headers: headers(requestID: requestID, report: report, contentType: "application/json"),
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAIResponseEncoder.encodeEmbeddings(response).jsonBytes)))
        } catch let failure as ExecutionFailure {
            return errorResponse(failure.error, requestID: requestID, report: failure.report)
        } catch let error as GatewayError {
            return errorResponse(error, requestID: requestID, report: nil)
        } catch {
            return errorResponse(GatewayError(code: .internalError, status: 500, message: "Internal error."), requestID: requestID, report: nil)
        }
    }

    func handleModels(_ request: Request, context: some RequestContext) async -> Response {
        let requestID = request.headers[.requestID] ?? makeRequestID()
        do {
            let key = try gateway.authenticate(authorization: request.headers[.authorization], apiKey: request.headers[.apiKey])
            let created = currentUnixTime()
            let models = gateway.table.visibleModels(for: key).map { name -> JSONValue in
                ["id": .string(name), "object": "model", "created": .int(created), "owned_by": name.contains("/") ? "switchyard-target" : "switchyard"]
            }
            let body: JSONValue = ["object": "list", "data": .array(models)]
            return Response(
                status: .ok, headers: headers(requestID: requestID, report: nil, contentType: "application/json"),
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
        } catch {
            return errorResponse(error as? GatewayError ?? .unauthenticated("Invalid API key."), requestID: requestID, report: nil)
        }
    }
}
