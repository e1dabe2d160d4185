import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

/// The OpenAI Responses API as the simulated OpenAI serves it (`POST /v1/responses`): a web search call
/// item first when the request offers the built-in `web_search` tool, then the message and function calls.
extension WireFormat {
    private var searches: Bool {
        request.body?["tools"]?.arrayValue?.contains { $0["type"]?.stringValue?.hasPrefix("web_search") == true } == true
    }

    private func responseObject(id responseID: String, status: String, output: [JSONValue], reply: SimulatedReply?) -> JSONValue {
        var usage: JSONValue = .null
        if let reply {
            usage = [
                "input_tokens": .int(promptTokens), "input_tokens_details": ["cached_tokens": 0], "output_tokens": .int(completionTokens(reply)),
                "output_tokens_details": ["reasoning_tokens": 0], "total_tokens": .int(promptTokens + completionTokens(reply)),
            ]
        }
        return [
            "id": .string(responseID), "object": "response", "created_at": 1_700_000_000, "status": .string(status), "error": .null,
            "incomplete_details": .null, "model": .string(model), "output": .array(output), "parallel_tool_calls": true,
            "tools": request.body?["tools"] ?? [], "usage": usage, "store": request.body?["store"] ?? true,
        ]
    }

    private func items(_ reply: SimulatedReply) -> [JSONValue] {
        var items: [JSONValue] = []
        if searches { items.append(["type": "web_search_call", "id": "ws_sim0", "status": "completed", "action": ["type": "search", "query": "simulated"]]) }
        if !reply.text.isEmpty {
            items.append([
                "type": "message", "id": "msg_sim0", "status": "completed", "role": "assistant",
                "content": [["type": "output_text", "text": .string(reply.text), "annotations": []]],
            ])
        }
        for (offset, call) in reply.toolCalls.enumerated() {
            items.append([
                "type": "function_call", "id": .string("fc_sim\(offset)"), "call_id": .string("call_sim\(offset)"), "name": .string(call.name),
                "arguments": .string(call.arguments), "status": "completed",
            ])
        }
        return items
    }

    func responsesAnswer(_ reply: SimulatedReply, id: String) -> JSONValue {
        responseObject(id: id, status: "completed", output: items(reply), reply: reply)
    }

    /// The typed events of a streamed answer, numbered, as the real API sends them.
    func responsesStream(_ reply: SimulatedReply, id: String) -> StreamScript {
        var sequence = 0
        func event(_ type: String, _ fields: JSONObject) -> String {
            var object: JSONObject = ["type": .string(type)]
            for (key, value) in fields { object.append(key, value) }
            object.append("sequence_number", .int(sequence))
            sequence += 1
            return "event: \(type)\ndata: \(JSONValue.object(object).jsonString)\n\n"
        }
        let lead = [
            event("response.created", ["response": responseObject(id: id, status: "in_progress", output: [], reply: nil)]),
            event("response.in_progress", ["response": responseObject(id: id, status: "in_progress", output: [], reply: nil)]),
        ]
        var content: [String] = []
        let all = items(reply)
        for (index, item) in all.enumerated() {
            let output: JSONValue = .int(index)
            switch item["type"]?.stringValue {
            case "message":
                content.append(event("response.output_item.added", ["output_index": output, "item": ["type": "message", "id": "msg_sim0", "status": "in_progress", "role": "assistant", "content": []]]))
                content.append(event("response.content_part.added", ["item_id": "msg_sim0", "output_index": output, "content_index": 0, "part": ["type": "output_text", "text": "", "annotations": []]]))
                for word in reply.text.split(separator: " ", omittingEmptySubsequences: false).enumerated().map({ $0.offset == 0 ? String($0.element) : " " + $0.element }) {
                    content.append(event("response.output_text.delta", ["item_id": "msg_sim0", "output_index": output, "content_index": 0, "delta": .string(word)]))
                }
                content.append(event("response.output_text.done", ["item_id": "msg_sim0", "output_index": output, "content_index": 0, "text": .string(reply.text)]))
                content.append(event("response.content_part.done", ["item_id": "msg_sim0", "output_index": output, "content_index": 0, "part": ["type": "output_text", "text": .string(reply.text), "annotations": []]]))
            case "function_call":
                var added = item.objectValue ?? JSONObject()
                added["arguments"] = ""
                added["status"] = "in_progress"
                content.append(event("response.output_item.added", ["output_index": output, "item": .object(added)]))
                content.append(event("response.function_call_arguments.delta", ["item_id": item["id"] ?? "", "output_index": output, "delta": item["arguments"] ?? ""]))
                content.append(event("response.function_call_arguments.done", ["item_id": item["id"] ?? "", "output_index": output, "arguments": item["arguments"] ?? ""]))
            default:
                content.append(event("response.output_item.added", ["output_index": output, "item": item]))
            }
            content.append(event("response.output_item.done", ["output_index": output, "item": item]))
        }
        let tail = [event("response.completed", ["response": responsesAnswer(reply, id: id)])]
        return StreamScript(lead: lead, content: content, tail: tail)
    }
}

extension SimulatorServer {
    static func handleResponses(_ request: Request, vendor: SimulatedVendor) async throws -> Response {
        let (recorded, scenario) = try await record(request, vendor: vendor)
        let wire = WireFormat(wire: .openai, model: recorded.body?["model"]?.stringValue ?? "sim-model", request: recorded)
        switch scenario {
        case .error(let status, let body, let headers):
            return jsonResponse(body, status: HTTPResponse.Status(code: status), headers: headers)
        case .reply(let reply):
            vendor.noteReportedUsage(prompt: wire.promptTokens, completion: wire.completionTokens(reply))
            let id = "resp_sim" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            guard recorded.body?["stream"]?.boolValue == true else { return jsonResponse(wire.responsesAnswer(reply, id: id)) }
            return streamResponse(request: request, vendor: vendor, script: wire.responsesStream(reply, id: id), reply: reply, error: nil)
        case .failMidStream(let chunks, let error):
            let reply = SimulatedReply(text: Array(repeating: "partial", count: max(chunks, 1)).joined(separator: " "))
            var script = wire.responsesStream(reply, id: "resp_simfailing")
            script.content = Array(script.content.prefix(2 + chunks))
            script.tail = []
            let message = error["error"]?["message"] ?? error["message"] ?? "The server had an error while processing your request."
            let event: JSONValue = ["type": "error", "code": "server_error", "message": message, "param": .null, "sequence_number": 999]
            return streamResponse(request: request, vendor: vendor, script: script, reply: reply, error: Array("event: error\ndata: \(event.jsonString)\n\n".utf8))
        default:
            return jsonResponse(["error": ["message": "scenario not supported on /v1/responses", "type": "server_error", "param": .null, "code": .null]], status: .internalServerError)
        }
    }
}
