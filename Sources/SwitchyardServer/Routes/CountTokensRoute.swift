import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchyardCore

/// `POST /v1/messages/count_tokens` in the Anthropic dialect: counted by the route's first target whose
/// vendor counts tokens (Anthropic, Claude on Vertex or Bedrock, Gemini), else estimated. The
/// `x-switchyard-token-count` header says which: `provider/model` that counted, or `estimate`.
extension ChatHandler where Dialect == AnthropicDialect {
    func handleCountTokens(_ request: Request, body: CollectedRequestBody) async -> Response {
        await respond(to: request) { key, snapshot, requestID, logger in
            let body = try readBody(body, limit: snapshot.config.maxBodyBytes)
            var chat = try AnthropicRequestDecoder.decode(try parseRequestObject(body.readableBytesView), headers: forwardableHeaders(request))
            chat.stream = false
            chat.messages.resolveToolResultNames()
            var route = try snapshot.table.resolve(model: chat.model, key: key)
            route.prepare(&chat)
            let counted: (tokens: Int, source: String)
            var report: ExecutionReport?
            do {
                let (tokens, countReport) = try await snapshot.executor.countTokens(chat, route: route, table: snapshot.table, logger: logger)
                counted = (tokens, countReport.target ?? "-")
                report = countReport
            } catch let failure as ExecutionFailure {
                // The client's own mistake (a vendor refused the request) is its answer, and a cancelled request
                // is over; a vendor that cannot count, or cannot right now, must not break an agent.
                let refused = failure.report.attempts.contains { attempt in
                    guard let failure = attempt.failure else { return false }
                    return failure.origin == .cancelled
                        || (failure.origin == .upstream && (failure.kind == .invalidRequest || failure.kind == .contextLengthExceeded))
                }
                if refused { throw failure }
                logger.debug("Token count estimated", metadata: ["attempts": "\(failure.report.attempts.count)"])
                counted = (TokenEstimate.prompt(of: chat), "estimate")
                report = failure.report
            }
            var fields = headers(requestID: requestID, report: report, contentType: "application/json")
            fields[.switchyardTokenCount] = counted.source
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(["input_tokens": .int(counted.tokens)]).jsonBytes)))
        }
    }
}

extension HTTPField.Name {
    static let switchyardTokenCount = HTTPField.Name("x-switchyard-token-count")!
}
