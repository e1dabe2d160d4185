public import NIOCore

/// A classified upstream outcome that was not a success: what the router needs, nothing vendor-specific.
///
/// `message` is redacted: adapters put the vendor's human-readable message here, never a credential
/// or the raw body.
@dynamicMemberLookup
public struct UpstreamFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Who the failure is about. Only `.upstream` failures say anything about a provider, a target or a
    /// credential; the others never count against them (DESIGN §4, "whose fault").
    public enum Origin: Sendable, Hashable {
        /// The provider answered with, or caused, the failure.
        case upstream
        /// The gateway had no room to send (its connection limit for the provider was reached).
        case gatewaySaturated
        /// The attempt was cancelled: the client went away or the gateway is shutting down.
        case cancelled
        /// The target cannot serve this request (no embeddings, a feature its vendor cannot honour): found
        /// before sending, so the target is skipped and the next capable one tried.
        case unsupported
    }

    /// What a failure says; read and changed as the failure's own properties (`failure.kind`).
    public struct Fields: Hashable, Sendable {
        public var kind: FailureKind
        public var origin: Origin
        /// The upstream HTTP status, when there was a response.
        public var status: Int?
        /// How long the vendor asked us to wait before using this credential again.
        public var retryAfter: Duration?
        public var message: String
        /// The vendor's error body when it is already in the client's dialect (a 4xx of the client's own
        /// vendor family): it may reach the client as sent, `type`, `param` and `code` intact.
        public var vendorBody: ByteBuffer?
    }

    /// Held by reference (see ``HeapBox``); a changed field makes a new box.
    private var box: HeapBox<Fields>

    public subscript<Value>(dynamicMember field: WritableKeyPath<Fields, Value>) -> Value {
        get { box.value[keyPath: field] }
        set { box = box.replacing(field, with: newValue) }
    }

    public init(kind: FailureKind, origin: Origin = .upstream, status: Int? = nil, retryAfter: Duration? = nil, message: String) {
        box = HeapBox(Fields(kind: kind, origin: origin, status: status, retryAfter: retryAfter, message: Self.redact(message), vendorBody: nil))
    }

    public static func == (lhs: UpstreamFailure, rhs: UpstreamFailure) -> Bool {
        lhs.box === rhs.box || lhs.box.value == rhs.box.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(box.value)
    }

    /// A target that cannot serve the request, found before anything was sent.
    public static func unsupported(_ message: String) -> UpstreamFailure {
        UpstreamFailure(kind: .invalidRequest, origin: .unsupported, message: message)
    }

    /// An attempt that was cancelled (client gone, shutdown): never a provider's fault.
    public static let cancelled = UpstreamFailure(kind: .unavailable, origin: .cancelled, message: "the request was cancelled")

    public var description: String {
        "\(self.kind.rawValue)\(self.status.map { " (\($0))" } ?? ""): \(self.message)"
    }

    /// Removes strings that look like credentials (`sk-…`, long tokens after "key"/"Bearer") from a vendor message.
    public static func redact(_ message: String) -> String {
        // One message, one log line: line breaks become spaces before words are inspected.
        var words = message.split(omittingEmptySubsequences: false, whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            .map(String.init)
        for index in words.indices {
            let word = words[index]
            let trimmed = word.trimming(Set(".,;:'\"()"))
            let lowered = trimmed.lowercased()
            let looksLikeKey =
                lowered.hasPrefix("sk-") || lowered.hasPrefix("sk_") || lowered.hasPrefix("key-") || lowered.hasPrefix("akia")
                || lowered.hasPrefix("ya29.") || lowered.hasPrefix("eyj")
                || (trimmed.count >= 32 && trimmed.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            if looksLikeKey { words[index] = "[redacted]" }
        }
        let joined = words.joined(separator: " ")
        return joined.count > 500 ? String(joined.prefix(500)) + "…" : joined
    }
}

extension String {
    /// Drops leading and trailing characters that are in `set`.
    func trimming(_ set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

extension Array where Element == String {
    /// The first `limit` elements joined with commas, and how many more there are: client-controlled
    /// lists never grow an error message without bound.
    public func listed(upTo limit: Int) -> String {
        let shown = prefix(limit).joined(separator: ", ")
        return count > limit ? "\(shown) and \(count - limit) more" : shown
    }
}
