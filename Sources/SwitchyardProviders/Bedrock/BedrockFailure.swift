import NIOCore
import SwitchyardCore

/// Bedrock errors → canonical failures, by the `x-amzn-ErrorType` name (providers.md §5.7, §8.6).
enum BedrockFailure {
    static func classify(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        let json = try? body.parseJSON()
        // `ThrottlingException:http://internal.amazon.com/coral/…`: the name is before the colon.
        let type = head.headers["x-amzn-errortype"].map { String($0.prefix { $0 != ":" }) } ?? json?["__type"]?.stringValue.map { String($0.split(separator: "#").last ?? "") } ?? ""
        let message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue
        var failure = classify(type: type, message: message, status: head.status)
        failure.retryAfter = FailureSupport.retryAfter(head.headers)
        return failure
    }

    static func classify(type: String, message: String?, status: Int?) -> UpstreamFailure {
        let text = message ?? "HTTP \(status.map(String.init) ?? "?") from Bedrock"
        let name = type.prefix(1).lowercased() + type.dropFirst()  // stream exceptions are camelCase
        let kind: FailureKind
        switch name {
        case "throttlingException", "tooManyRequestsException": kind = .rateLimited
        case "serviceUnavailableException", "internalServerException", "modelStreamErrorException", "modelErrorException", "modelNotReadyException":
            kind = .unavailable
        case "modelTimeoutException": kind = .timeout
        case "validationException":
            let lowered = text.lowercased()
            if FailureSupport.looksLikeContextOverflow(text) || lowered.contains("too many input tokens") {
                kind = .contextLengthExceeded
            } else if lowered.contains("on-demand throughput isn") || lowered.contains("model identifier is invalid") {
                kind = .modelNotFound  // the target's id is wrong for this account: its configuration, not the request
            } else {
                kind = .invalidRequest
            }
        case "accessDeniedException":
            // No access to this one model is the target's problem; anything else is the credential's.
            let lowered = text.lowercased()
            kind = lowered.contains("model") && (lowered.contains("access to the model") || lowered.contains("specified model")) ? .modelNotFound : .authFailed
        case "unrecognizedClientException", "invalidSignatureException", "expiredTokenException", "incompleteSignatureException",
            "missingAuthenticationTokenException":
            kind = .authFailed
        case "resourceNotFoundException": kind = .modelNotFound
        case "serviceQuotaExceededException": kind = .quotaExhausted
        default: kind = status.map(FailureSupport.kind(forStatus:)) ?? .overloaded
        }
        return UpstreamFailure(kind: kind, status: status, message: "Bedrock \(type.isEmpty ? "error" : type): \(text)")
    }
}
