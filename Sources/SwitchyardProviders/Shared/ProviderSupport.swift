import NIOCore
import SwitchyardCore

extension ByteBuffer {
    /// Parses the readable bytes as JSON.
    func parseJSON() throws(JSONParser.Failure) -> JSONValue {
        try JSONParser.parse(readableBytesView)
    }

    /// Parses a successful response body; a body that is not JSON is an `unavailable` upstream.
    func parseResponseJSON(vendor: String) throws(UpstreamFailure) -> JSONValue {
        do {
            return try parseJSON()
        } catch {
            throw UpstreamFailure(kind: .unavailable, message: "\(vendor) sent a response that is not valid JSON (\(error))")
        }
    }
}

/// Shared helpers for vendor error classification.
enum FailureSupport {
    /// The longest wait an upstream may ask for; anything longer is treated as this.
    static let maximumRetryAfter: Duration = .seconds(3600)

    /// `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date we ignore).
    /// Nonsense (`inf`, `nan`, negative, absurdly large) never reaches arithmetic: it is ignored or clamped.
    static func retryAfter(_ headers: HeaderFields) -> Duration? {
        if let text = headers["retry-after-ms"], let millis = Double(text.prefix(32)), millis > 0 {
            return clampedWait(seconds: millis / 1000)
        }
        if let text = headers["retry-after"], let seconds = Double(text.prefix(32)), seconds >= 0 {
            return clampedWait(seconds: seconds)
        }
        return nil
    }

    /// A wait of `seconds`, within 0…``maximumRetryAfter``; `nil` for NaN.
    static func clampedWait(seconds: Double) -> Duration? {
        guard !seconds.isNaN else { return nil }
        let bounded = min(max(seconds, 0), maximumRetryAfter.seconds)
        return .milliseconds(Int64((bounded * 1000).rounded()))
    }

    /// The failure kind of a status code alone, before looking at the body.
    static func kind(forStatus status: Int) -> FailureKind {
        switch status {
        case 401, 403: .authFailed
        case 402: .quotaExhausted
        case 408: .timeout
        case 429: .rateLimited
        case 404: .modelNotFound  // unknown model or deployment: the client's typo, or a misconfigured target
        case 409, 500...599: status == 504 ? .timeout : .overloaded
        case 400...499: .invalidRequest
        default: .unavailable
        }
    }

    static func looksLikeContextOverflow(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("context length") || lowered.contains("context_length") || lowered.contains("prompt is too long")
            || lowered.contains("maximum context") || lowered.contains("too many tokens") || lowered.contains("input is too long")
    }
}

