import Foundation
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// The OpenAI Responses dialect (`POST /v1/responses`), translated through the canonical model to any
/// provider. Conversation state (`previous_response_id`, `store`) is the gateway's own, scoped to the
/// virtual key that created it, so a conversation may move between vendors from one turn to the next.
struct ResponsesDialect: ClientDialect {
    let store: any ResponseStore
    let logger: Logger

    func decodeChat(
        _ body: JSONValue, headers: [(name: String, value: String)], key: VirtualKeyConfig?
    ) async throws(GatewayError) -> (ChatRequest, ResponsesContext) {
        var conversation: [JSONValue] = []
        if let previousReader = FieldReader(body).field("previous_response_id") {
            let previousID = try previousReader.string()
            guard let previous = try await loadResponse(id: previousID, key: key) else {
                throw GatewayError.notFound("Previous response with id '\(previousID.prefix(128))' not found.").with(parameter: "previous_response_id")
            }
            conversation = Self.continuation(of: previous)
        }
        conversation.append(contentsOf: try ResponsesRequestDecoder.inputItems(of: body))
        var request = try ResponsesRequestDecoder.decode(body, items: conversation)
        if case .object(var object) = body {
            // A vendor serving the Responses API gets the client's body, the conversation spelled out: the
            // gateway keeps the state, so a conversation may change vendors between turns.
            object["input"] = .array(conversation)
            object["previous_response_id"] = nil
            request.passThrough = PassThrough(dialect: .openaiResponses, body: object)
        }
        let context = ResponsesContext(
            id: ResponsesContext.newID(), createdAt: currentUnixTime(), echo: ResponsesContext.echo(of: body),
            store: body["store"]?.boolValue ?? true, keyName: key?.name, conversation: conversation)
        return (request, context)
    }

    func encodeResponse(_ response: ChatResponse, for request: ChatRequest, context: ResponsesContext) -> JSONValue {
        guard let choice = response.choices.first else {
            return context.responseObject(status: "completed", model: response.model, output: [], usage: response.usage)
        }
        let (status, reason) = ResponsesOutput.status(choice.finishReason)
        return context.responseObject(
            status: status, model: response.model, output: ResponsesOutput.items(of: choice), usage: response.usage, incompleteReason: reason)
    }

    func makeStreamEncoder(for request: ChatRequest, context: ResponsesContext) -> ResponsesStreamEncoder {
        ResponsesStreamEncoder(context: context, model: request.model)
    }

    func encodeError(_ error: GatewayError) -> JSONValue {
        OpenAIResponseEncoder.encodeError(error)
    }

    /// Keeps the answer as conversation state before the client sees its end, so that a next turn sent
    /// right away finds it.
    var keepsAnswers: Bool { true }

    func answer(inForwarded event: SSEEvent) -> JSONValue? {
        guard event.event == "response.completed" || event.event == "response.incomplete" else { return nil }
        return (try? JSONParser.parse(event.data))?["response"]
    }

    func answered(_ answer: JSONValue, context: ResponsesContext) async {
        guard context.store else { return }
        // A vendor's own answer keeps its id, which is the one the client saw.
        let stored = StoredResponse(
            id: answer["id"]?.stringValue ?? context.id, keyName: context.keyName, created: Date(timeIntervalSince1970: TimeInterval(context.createdAt)), response: answer.jsonString,
            inputItems: JSONValue.array(context.conversation).jsonString)
        do {
            try await store.saveResponse(stored)
        } catch {
            logger.warning("A response could not be stored; it cannot be continued", metadata: ["response.id": "\(context.id)", "error": "\(error)"])
        }
    }

    /// The stored response `id`, if `key` created it (another key's is as good as missing).
    func loadResponse(id: String, key: VirtualKeyConfig?) async throws(GatewayError) -> StoredResponse? {
        guard id.utf8.count <= 128 else { return nil }
        let stored: StoredResponse?
        do {
            stored = try await store.loadResponse(id: id)
        } catch {
            logger.warning("Conversation state could not be read", metadata: ["error": "\(error)"])
            throw GatewayError(code: .unavailable, status: 503, message: "Conversation state is unavailable right now; try again.")
        }
        guard let stored, stored.keyName == key?.name else { return nil }
        return stored
    }

    /// What a next turn continues: the earlier input items, then the earlier answer's output items.
    static func continuation(of stored: StoredResponse) -> [JSONValue] {
        let input = (try? JSONParser.parse(stored.inputItems))?.arrayValue ?? []
        let output = (try? JSONParser.parse(stored.response))?["output"]?.arrayValue ?? []
        return input + output
    }
}

extension GatewayError {
    func with(parameter: String) -> GatewayError {
        var error = self
        error.parameter = parameter
        return error
    }
}
