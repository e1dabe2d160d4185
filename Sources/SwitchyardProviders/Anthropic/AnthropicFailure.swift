import Foundation
import NIOCore
import SwitchyardCore

/// Maps Anthropic error responses and in-band error events to canonical failures (providers.md §2.5).
enum AnthropicFailure {
    static func classify(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure {
        let error = (try? body.parseJSON())?["error"]
        var failure = classify(error: error, status: head.status)
        failure.retryAfter = FailureSupport.retryAfter(head.headers) ?? rateLimitReset(head.headers)
        return failure
    }

    static func classify(error: JSONValue?, status: Int?) -> UpstreamFailure {
        let type = error?["type"]?.stringValue ?? ""
        let message = error?["message"]?.stringValue ?? "HTTP \(status.map(String.init) ?? "?") from Anthropic"
        let detailCode = error?["details"]?["error_code"]?.stringValue
        let kind: FailureKind
        switch type {
        case "rate_limit_error": kind = detailCode == "enforced_spend_limit_reached" ? .quotaExhausted : .rateLimited
        case "overloaded_error": kind = .overloaded
        case "api_error", "conflict_error": kind = .overloaded
        case "timeout_error": kind = .timeout
        case "authentication_error", "permission_error": kind = .authFailed
        case "billing_error": kind = .quotaExhausted
        case "not_found_error": kind = .modelNotFound
        case "invalid_request_error", "request_too_large":
            kind = FailureSupport.looksLikeContextOverflow(message) ? .contextLengthExceeded : .invalidRequest
        default:
            kind = status.map { $0 == 529 ? .overloaded : FailureSupport.kind(forStatus: $0) } ?? .overloaded
        }
        return UpstreamFailure(kind: kind, status: status, message: message)
    }

    /// The earliest `anthropic-ratelimit-*-reset` (RFC 3339) as a wait from now, when `retry-after` is absent.
    private static func rateLimitReset(_ headers: HeaderFields) -> Duration? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let waits = headers.compactMap { header -> Double? in
            let name = header.name.lowercased()
            guard name.hasPrefix("anthropic-ratelimit-"), name.hasSuffix("-reset") else { return nil }
            guard let date = formatter.date(from: header.value) ?? plain.date(from: header.value) else { return nil }
            return max(0, date.timeIntervalSinceNow)
        }
        return waits.min().flatMap { FailureSupport.clampedWait(seconds: $0) }
    }
}
