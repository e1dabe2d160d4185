import HTTPTypes
import Hummingbird
import SwitchyardCore
import Tracing

/// The server span of one client request, when tracing is on: opened from the caller's W3C trace context,
/// named and annotated by the handler as it learns the model, the route and the usage, ended with the
/// response head (a stream's at its first content; its length is in the request log).
enum RequestTrace {
    @TaskLocal static var span: (any Span)?

    /// Runs `body` inside a server span (or directly when `tracer` is nil: no tracing work at all).
    static func traced(_ request: Request, tracer: (any Tracer)?, _ body: () async -> Response) async -> Response {
        guard let tracer else { return await body() }
        var parent = ServiceContext.topLevel
        tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let span = tracer.startSpan("chat", context: parent, ofKind: .server)
        span.attributes["gen_ai.operation.name"] = "chat"
        span.attributes["url.path"] = request.uri.path
        let response = await ServiceContext.withValue(span.context) {
            await $span.withValue(span) { await body() }
        }
        let status = Int(response.status.code)
        span.attributes["http.response.status_code"] = status
        if status >= 400 {
            if span.attributes["error.type"] == nil { span.attributes["error.type"] = String(status) }
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
        return response
    }

    /// What the handler learned once the request was read.
    static func noteRequest(model: String, route: String, requestID: String) {
        guard let span else { return }
        span.operationName = "chat \(model)"
        span.attributes["gen_ai.request.model"] = model
        span.attributes["switchyard.route"] = route
        span.attributes["switchyard.request_id"] = requestID
    }

    /// What the answer said, when it came whole.
    static func noteAnswer(_ response: ChatResponse, target: String?) {
        guard let span else { return }
        span.attributes["gen_ai.response.model"] = response.model
        if let usage = response.usage {
            span.attributes["gen_ai.usage.input_tokens"] = usage.promptTokens
            span.attributes["gen_ai.usage.output_tokens"] = usage.completionTokens
        }
        if let target { span.attributes["switchyard.target"] = target }
    }

    /// A failure that ended the request: its kind, as the attempt spans name theirs.
    static func noteFailure(kind: String) {
        span?.attributes["error.type"] = kind
    }
}

struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
