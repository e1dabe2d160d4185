import NIOCore
import SwitchyardCore

/// Maps OpenAI-family error responses to canonical failures (providers.md §1.7, §7, §8.6).
enum OpenAIFailure {
    static func classify(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        let json = try? body.parseJSON()
        // OpenAI nests the error; vLLM and Mistral put it at the top level.
        let error = json?["error"]?.objectValue ?? json?.objectValue
        let code = error?["code"].flatMap { $0.stringValue ?? ($0.isNull ? nil : $0.jsonString) } ?? ""
        let type = error?["type"]?.stringValue ?? ""
        let message = error?["message"]?.stringValue ?? "HTTP \(head.status) from upstream"
        let retryAfter = FailureSupport.retryAfter(head.headers)
        let kind: FailureKind
        switch (head.status, code) {
        case (_, "insufficient_quota"), (_, "billing_hard_limit_reached"): kind = .quotaExhausted
        case (_, "context_length_exceeded"), (_, "string_above_max_length"): kind = .contextLengthExceeded
        case (_, "content_policy_violation"), (_, "content_filter"): kind = .contentFiltered
        case (_, "invalid_api_key"): kind = .authFailed
        case (400, _) where FailureSupport.looksLikeContextOverflow(message): kind = .contextLengthExceeded
        default:
            kind = type == "insufficient_quota" ? .quotaExhausted : FailureSupport.kind(forStatus: head.status)
        }
        return UpstreamFailure(kind: kind, status: head.status, retryAfter: retryAfter, message: message)
    }

    /// An in-band `{"error":{…}}` chunk after the stream started.
    static func classifyInBand(_ error: JSONValue) -> UpstreamFailure {
        let code = error["code"]?.stringValue ?? ""
        let type = error["type"]?.stringValue ?? ""
        let message = error["message"]?.stringValue ?? "upstream stream error"
        let kind: FailureKind =
            switch code.isEmpty ? type : code {
            case "rate_limit_exceeded", "rate_limit_error": .rateLimited
            case "context_length_exceeded": .contextLengthExceeded
            case "content_filter": .contentFiltered
            default: .overloaded
            }
        return UpstreamFailure(kind: kind, message: message)
    }
}
