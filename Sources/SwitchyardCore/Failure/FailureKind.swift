/// The canonical classes of upstream failure (DESIGN §4). The router acts on these, never on vendor strings.
public enum FailureKind: String, Sendable, Hashable, CaseIterable {
    case rateLimited = "rate_limited"
    case overloaded
    case unavailable
    case timeout
    case authFailed = "auth_failed"
    case quotaExhausted = "quota_exhausted"
    case invalidRequest = "invalid_request"
    case contextLengthExceeded = "context_length_exceeded"
    case contentFiltered = "content_filtered"
    /// The vendor does not know the model (404): a misconfigured route target, or a client's typo when the
    /// client named `provider/model` directly.
    case modelNotFound = "model_not_found"

    /// Whether another credential or target may succeed where this one failed.
    public var allowsFailover: Bool {
        switch self {
        case .rateLimited, .overloaded, .unavailable, .timeout, .authFailed, .quotaExhausted, .modelNotFound: true
        case .invalidRequest, .contextLengthExceeded, .contentFiltered: false
        }
    }

    /// Whether the failure says something about the target's health (counts toward its circuit breaker).
    /// An unknown model counts against the route's target (its configuration is wrong), never against a
    /// credential (see ``countsAgainstCredentialHealth``).
    public var countsAgainstHealth: Bool {
        switch self {
        case .overloaded, .unavailable, .timeout, .modelNotFound: true
        default: false
        }
    }

    /// Whether the failure counts toward a credential's own circuit breaker: server errors and timeouts that
    /// follow one key (an account-level outage), not a model the vendor does not have.
    public var countsAgainstCredentialHealth: Bool {
        countsAgainstHealth && self != .modelNotFound
    }

    /// Whether the failure means the credential is unusable until it is probed again.
    public var disablesCredential: Bool {
        self == .authFailed || self == .quotaExhausted
    }

    /// Whether the failure is about the credential rather than the target, so another key of the same
    /// target may still succeed.
    public var concernsCredential: Bool {
        disablesCredential || self == .rateLimited
    }
}
