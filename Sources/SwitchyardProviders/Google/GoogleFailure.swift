import NIOCore
import SwitchyardCore

/// Maps Google's `google.rpc.Status` errors (Gemini API and Vertex AI) to canonical failures
/// (providers.md §3.5, §8.6).
enum GoogleFailure {
    static func classify(head: UpstreamHead, body: ByteBuffer, vendor: String) -> UpstreamFailure {
        let error = (try? body.parseJSON())?["error"]
        var failure = classify(error: error, status: head.status, vendor: vendor)
        if failure.retryAfter == nil { failure.retryAfter = FailureSupport.retryAfter(head.headers) }
        return failure
    }

    static func classify(error: JSONValue?, status: Int?, vendor: String) -> UpstreamFailure {
        let httpStatus = status ?? error?["code"]?.intValue
        let code = error?["status"]?.stringValue ?? ""
        let message = error?["message"]?.stringValue ?? "HTTP \(httpStatus.map(String.init) ?? "?") from \(vendor)"
        let details = error?["details"]?.arrayValue ?? []
        let reasons = Set(details.compactMap { $0["reason"]?.stringValue })
        let kind: FailureKind
        switch code {
        case "INVALID_ARGUMENT" where reasons.contains("API_KEY_INVALID"):
            kind = .authFailed  // Gemini answers a bad key with 400, not 401
        case "INVALID_ARGUMENT", "OUT_OF_RANGE":
            kind = looksLikeContextOverflow(message) ? .contextLengthExceeded : .invalidRequest
        case "FAILED_PRECONDITION":
            kind = .unavailable  // region or billing not enabled for this target: another may serve
        case "UNAUTHENTICATED", "PERMISSION_DENIED":
            kind = .authFailed
        case "NOT_FOUND":
            kind = .modelNotFound
        case "RESOURCE_EXHAUSTED":
            kind = isLongTermQuota(details) ? .quotaExhausted : .rateLimited
        case "UNAVAILABLE", "INTERNAL", "ABORTED", "UNKNOWN":
            kind = .overloaded
        case "DEADLINE_EXCEEDED":
            kind = .timeout
        case "CANCELLED":
            kind = .unavailable
        default:
            kind = httpStatus.map(FailureSupport.kind(forStatus:)) ?? .overloaded
        }
        return UpstreamFailure(kind: kind, status: httpStatus, retryAfter: retryDelay(details), message: "\(vendor): \(message)")
    }

    static func looksLikeContextOverflow(_ message: String) -> Bool {
        message.lowercased().contains("exceeds the maximum number of tokens") || FailureSupport.looksLikeContextOverflow(message)
    }

    /// A daily (or longer) quota, as opposed to a per-minute rate: the credential is done for hours.
    private static func isLongTermQuota(_ details: [JSONValue]) -> Bool {
        details.contains { detail in
            (detail["violations"]?.arrayValue ?? []).contains { violation in
                let id = (violation["quotaId"]?.stringValue ?? "") + " " + (violation["quotaMetric"]?.stringValue ?? "")
                return id.contains("PerDay") || id.contains("per_day")
            }
        }
    }

    /// `RetryInfo.retryDelay`, a protobuf duration string (`"41s"`, `"0.5s"`).
    static func retryDelay(_ details: [JSONValue]) -> Duration? {
        for detail in details {
            guard let delay = detail["retryDelay"]?.stringValue, delay.hasSuffix("s") else { continue }
            if let seconds = Double(delay.dropLast().prefix(32)) { return FailureSupport.clampedWait(seconds: seconds) }
        }
        return nil
    }
}
