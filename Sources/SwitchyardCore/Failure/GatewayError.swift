public import NIOCore
import Foundation

/// The one error a client sees, whichever dialect it speaks; each dialect renders it in its own shape.
///
/// It never carries a provider secret; a raw upstream body only as ``vendorAnswer``, for a client of that
/// vendor's own dialect, and only when it holds no secret the gateway knows.
@dynamicMemberLookup
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in terms a dialect can map to its own error type.
    public enum Code: String, Sendable, Hashable {
        case invalidRequest = "invalid_request_error"
        case authentication = "authentication_error"
        case permission = "permission_error"
        case notFound = "not_found_error"
        case payloadTooLarge = "request_too_large"
        case rateLimited = "rate_limit_error"
        case upstream = "upstream_error"
        case timeout = "timeout_error"
        case overloaded = "overloaded_error"
        case unavailable = "service_unavailable"
        case internalError = "internal_error"
    }

    /// What the client is told; read and changed as the error's own properties (`error.status`).
    public struct Fields: Sendable {
        public var code: Code
        public var status: Int
        public var message: String
        /// The request field at fault, when there is one (OpenAI `param`).
        public var parameter: String?
        /// The canonical failure kind, for errors that came from upstream.
        public var failureKind: FailureKind?
        public var retryAfter: Duration?
        /// The vendor's own error body and status, for a client of the vendor's dialect (see ``UpstreamFailure/Fields/vendorBody``).
        public var vendorAnswer: (status: Int, body: ByteBuffer)?
        /// Response headers the error needs (`x-ratelimit-…`, `x-should-retry: false` for a spent budget).
        public var headers: [(name: String, value: String)] = []
    }

    /// Held by reference (see ``HeapBox``); a changed field makes a new box.
    private var box: HeapBox<Fields>

    public subscript<Value>(dynamicMember field: WritableKeyPath<Fields, Value>) -> Value {
        get { box.value[keyPath: field] }
        set { box = box.replacing(field, with: newValue) }
    }

    public init(code: Code, status: Int, message: String, parameter: String? = nil, failureKind: FailureKind? = nil, retryAfter: Duration? = nil) {
        box = HeapBox(Fields(code: code, status: status, message: message, parameter: parameter, failureKind: failureKind, retryAfter: retryAfter))
    }

    public var description: String { "\(self.status) \(self.code.rawValue): \(self.message)" }

    public static func invalidRequest(_ message: String, parameter: String? = nil) -> GatewayError {
        GatewayError(code: .invalidRequest, status: 400, message: message, parameter: parameter)
    }

    public static func notFound(_ message: String) -> GatewayError {
        GatewayError(code: .notFound, status: 404, message: message)
    }

    public static func unauthenticated(_ message: String) -> GatewayError {
        GatewayError(code: .authentication, status: 401, message: message)
    }

    public static func forbidden(_ message: String) -> GatewayError {
        GatewayError(code: .permission, status: 403, message: message)
    }

    public static func payloadTooLarge(limit: Int) -> GatewayError {
        GatewayError(code: .payloadTooLarge, status: 413, message: "Request body is larger than the limit of \(limit) bytes.")
    }

    /// A key over its requests or tokens per minute.
    public static func keyRateLimited(key: String, what: String, retryAfter: Duration, headers: [(name: String, value: String)]) -> GatewayError {
        var error = GatewayError(
            code: .rateLimited, status: 429, message: "Rate limit reached for key '\(key)': \(what). Retry after the current minute.", retryAfter: retryAfter)
        error.headers = headers
        return error
    }

    /// A key whose budget cannot fit the request: retrying will not help until the period ends or it is raised.
    public static func overBudget(key: String, spent: Double, limit: Double, period: String) -> GatewayError {
        var error = GatewayError(
            code: .rateLimited, status: 429,
            message: "Budget exceeded for key '\(key)': $\(String(format: "%.4f", spent)) of $\(String(format: "%.2f", limit)) spent or reserved this \(period); this request does not fit.")
        error.headers = [("x-should-retry", "false")]
        return error
    }

    /// A request cancelled by the client going away or by the gateway shutting down (the client of a
    /// disconnect never reads it; one caught by a shutdown learns to retry elsewhere).
    public static let cancelled = GatewayError(code: .unavailable, status: 503, message: "The request was cancelled before an answer arrived.")

    /// The end of a stream that was still running when the gateway's shutdown grace ran out.
    public static let shuttingDown = GatewayError(
        code: .unavailable, status: 503, message: "The gateway is shutting down; this stream ran past the shutdown grace period and was ended.")

    /// The last event of a stream that failed after it started: the vendor's (redacted) message, typed by kind.
    public static func midStream(_ failure: UpstreamFailure) -> GatewayError {
        let code: Code =
            switch failure.kind {
            case .overloaded, .unavailable: .overloaded
            case .rateLimited, .quotaExhausted: .rateLimited
            case .timeout: .timeout
            case .invalidRequest, .contextLengthExceeded, .contentFiltered: .invalidRequest
            case .authFailed, .modelNotFound: .upstream
            }
        return GatewayError(code: code, status: 502, message: failure.message, failureKind: failure.kind)
    }

    /// The client-facing error for a final upstream failure: the client's mistakes (a bad request, a prompt
    /// too long, a filtered one, a model its vendor lacks) keep the vendor's own body for a client of the
    /// vendor's dialect.
    public static func upstream(_ failure: UpstreamFailure, target: String?) -> GatewayError {
        var error = translated(failure, target: target)
        if let body = failure.vendorBody, let status = failure.status, (400..<500).contains(status), !failure.kind.allowsFailover || failure.kind == .modelNotFound {
            error.vendorAnswer = (status, body)
        }
        return error
    }

    private static func translated(_ failure: UpstreamFailure, target: String?) -> GatewayError {
        let whereText = target.map { " from \($0)" } ?? ""
        switch failure.kind {
        case .invalidRequest:
            return GatewayError(code: .invalidRequest, status: 400, message: failure.message, failureKind: failure.kind)
        case .contextLengthExceeded:
            return GatewayError(
                code: .invalidRequest, status: 400, message: failure.message, parameter: "messages", failureKind: failure.kind)
        case .contentFiltered:
            return GatewayError(code: .invalidRequest, status: 400, message: failure.message, failureKind: failure.kind)
        case .rateLimited:
            return GatewayError(
                code: .rateLimited, status: 429, message: "Upstream rate limit\(whereText): \(failure.message)", failureKind: failure.kind,
                retryAfter: failure.retryAfter)
        case .quotaExhausted:
            return GatewayError(code: .rateLimited, status: 429, message: "Upstream quota exhausted\(whereText).", failureKind: failure.kind)
        case .timeout:
            return GatewayError(code: .timeout, status: 504, message: "Upstream timed out\(whereText).", failureKind: failure.kind)
        case .overloaded:
            return GatewayError(code: .overloaded, status: 503, message: "Upstream overloaded\(whereText).", failureKind: failure.kind)
        case .unavailable:
            return GatewayError(code: .unavailable, status: 502, message: "Upstream unavailable\(whereText): \(failure.message)", failureKind: failure.kind)
        case .authFailed:
            return GatewayError(
                code: .unavailable, status: 502, message: "Upstream rejected the gateway's credential\(whereText).", failureKind: failure.kind)
        case .modelNotFound:
            return GatewayError(
                code: .notFound, status: 404, message: "The model \(target.map { "'\($0)'" } ?? "") does not exist at its provider: \(failure.message)",
                failureKind: failure.kind)
        }
    }
}
