public import Tracing

/// One client span per upstream attempt, a child of the request's span, following the OpenTelemetry GenAI
/// conventions; its context travels to the vendor as W3C `traceparent`. Absent (nil on the loop) when
/// tracing is off: the attempt path then does no tracing work at all.
public struct AttemptTracing: Sendable {
    public let tracer: any Tracer

    public init(tracer: any Tracer) {
        self.tracer = tracer
    }

    func run<T: Sendable>(
        target: TargetState, credentialIndex: Int, _ operation: () async throws(UpstreamFailure) -> T
    ) async throws(UpstreamFailure) -> T {
        let span = tracer.startSpan("chat \(target.ref.model)", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        span.attributes["gen_ai.operation.name"] = "chat"
        span.attributes["gen_ai.provider.name"] = Self.providerName(type: target.provider.config.type)
        span.attributes["gen_ai.request.model"] = target.ref.model
        span.attributes["switchyard.target"] = target.name
        span.attributes["switchyard.credential.index"] = credentialIndex
        defer { span.end() }
        let result = await ServiceContext.withValue(span.context) { () async -> Result<T, UpstreamFailure> in
            do throws(UpstreamFailure) {
                return .success(try await operation())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let failure) = result {
            span.attributes["error.type"] = failure.kind.rawValue
            if let status = failure.status { span.attributes["http.response.status_code"] = status }
            span.setStatus(SpanStatus(code: .error, message: failure.kind.rawValue))
        }
        return try result.get()
    }

    /// Writes the current span's context into an upstream request's headers (`traceparent`, `tracestate`).
    func inject(into headers: inout HeaderFields) {
        guard let context = ServiceContext.current else { return }
        tracer.inject(context, into: &headers, using: HeaderFieldsInjector())
    }

    /// The GenAI conventions' provider names; a type they do not list keeps its own name.
    static func providerName(type: String) -> String {
        switch type {
        case "openai", "openai-compatible": "openai"
        case "anthropic": "anthropic"
        case "gemini": "gcp.gemini"
        case "vertex": "gcp.vertex_ai"
        case "bedrock": "aws.bedrock"
        case "azure": "azure.ai.openai"
        default: type
        }
    }
}

struct HeaderFieldsInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HeaderFields) {
        carrier.replace(key, value)
    }
}
