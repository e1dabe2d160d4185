import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

/// `GET` and `DELETE /v1/responses/{id}`: stored responses, visible only to the key that created them.
extension ChatHandler where Dialect == ResponsesDialect {
    func handleRetrieve(_ request: Request, context: GatewayRequestContext) async -> Response {
        await respond(to: request) { key, _, requestID, _ in
            let stored = try await storedResponse(context: context, key: key)
            return Response(
                status: .ok, headers: headers(requestID: requestID, report: nil, contentType: "application/json"),
                body: ResponseBody(byteBuffer: ByteBuffer(string: stored.response)))
        }
    }

    func handleInputItems(_ request: Request, context: GatewayRequestContext) async -> Response {
        await respond(to: request) { key, _, requestID, _ in
            let stored = try await storedResponse(context: context, key: key)
            // Newest first, as the vendor lists them; each item gets the id the list needs.
            let items = ((try? JSONParser.parse(stored.inputItems))?.arrayValue ?? []).enumerated().map { offset, item -> JSONValue in
                guard case .object(var object) = item else { return item }
                if object["id"] == nil { object.append("id", .string("item_\(stored.id.dropFirst(5))_\(offset)")) }
                if object["type"] == nil { object.append("type", "message") }
                return .object(object)
            }.reversed()
            let list: JSONValue = [
                "object": "list", "data": .array(Array(items)), "first_id": items.first?["id"] ?? .null, "last_id": items.last?["id"] ?? .null,
                "has_more": false,
            ]
            return jsonResponse(list, requestID: requestID, report: nil)
        }
    }

    func handleDelete(_ request: Request, context: GatewayRequestContext) async -> Response {
        await respond(to: request) { key, _, requestID, _ in
            let stored = try await storedResponse(context: context, key: key)
            do {
                _ = try await dialect.store.deleteResponse(id: stored.id)
            } catch {
                throw GatewayError(code: .unavailable, status: 503, message: "Conversation state is unavailable right now; try again.")
            }
            return jsonResponse(["id": .string(stored.id), "object": "response", "deleted": true], requestID: requestID, report: nil)
        }
    }

    private func storedResponse(context: GatewayRequestContext, key: VirtualKeyConfig?) async throws(GatewayError) -> StoredResponse {
        let id = context.parameters.get("id") ?? ""
        guard let stored = try await dialect.loadResponse(id: id, key: key) else {
            throw GatewayError.notFound("Response with id '\(id.prefix(128))' not found.").with(parameter: "response_id")
        }
        return stored
    }
}
