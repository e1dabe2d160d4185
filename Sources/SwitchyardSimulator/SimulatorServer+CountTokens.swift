import HTTPTypes
import Hummingbird
import NIOCore
public import SwitchyardCore

/// Token-count endpoints in each vendor's shape: Anthropic `POST /v1/messages/count_tokens` (also Claude on
/// Vertex, `count-tokens:rawPredict`), Gemini and Vertex `:countTokens`, Bedrock `/model/{id}/count-tokens`.
/// The count is the words of every string in the body's messages; a queued verbatim answer or error wins.
extension SimulatorServer {
    enum CountShape {
        /// `{"input_tokens": N}`
        case anthropic
        /// `{"totalTokens": N}`
        case google
        /// `{"inputTokens": N}`
        case bedrock
    }

    static func handleCountTokens(_ request: Request, vendor: SimulatedVendor, shape: CountShape, recorded earlier: (RecordedRequest, SimulatorScenario)? = nil) async throws -> Response {
        let recorded: RecordedRequest
        let scenario: SimulatorScenario
        if let earlier { (recorded, scenario) = earlier } else { (recorded, scenario) = try await record(request, vendor: vendor) }
        switch scenario {
        case .error(let status, let body, let headers):
            return jsonResponse(body, status: HTTPResponse.Status(code: status), headers: headers)
        case .verbatim(let status, let contentType, let body):
            return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        default:
            break
        }
        let count = wordCount(recorded.body ?? .null)
        switch shape {
        case .anthropic: return jsonResponse(["input_tokens": .int(count)])
        case .google: return jsonResponse(["totalTokens": .int(count)])
        case .bedrock: return jsonResponse(["inputTokens": .int(count)])
        }
    }

    /// Words in every string value under `value`, except the model name and version fields.
    public static func wordCount(_ value: JSONValue) -> Int {
        switch value {
        case .string(let text): return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        case .array(let items): return items.reduce(0) { $0 + wordCount($1) }
        case .object(let object):
            return object.reduce(0) { total, member in
                ["model", "anthropic_version", "type", "role"].contains(member.0) ? total : total + wordCount(member.1)
            }
        default: return 0
        }
    }
}
