public import NIOCore
public import SwitchyardCore

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
    /// `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date we ignore).
    static func retryAfter(_ headers: HeaderFields) -> Duration? {
        if let text = headers["retry-after-ms"], let millis = Double(text), millis > 0 {
            return .milliseconds(Int64(millis))
        }
        if let text = headers["retry-after"], let seconds = Double(text), seconds >= 0 {
            return .milliseconds(Int64(seconds * 1000))
        }
        return nil
    }

    /// The failure kind of a status code alone, before looking at the body.
    static func kind(forStatus status: Int) -> FailureKind {
        switch status {
        case 401, 403: .authFailed
        case 402: .quotaExhausted
        case 408: .timeout
        case 429: .rateLimited
        case 404: .unavailable  // the target is misconfigured (unknown model or deployment): try another
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

