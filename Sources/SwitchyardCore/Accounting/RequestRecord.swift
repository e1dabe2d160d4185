public import Foundation

/// One client request as the request log keeps it: who asked, what was tried, what it cost.
public struct RequestRecord: Sendable, Hashable {
    public struct Attempt: Sendable, Hashable {
        public var target: String
        public var credentialIndex: Int
        /// The failure kind (`rate_limited`…), or nil for the attempt that answered.
        public var failureKind: String?
        public var status: Int?
        public var latencyMilliseconds: Int?

        public init(target: String, credentialIndex: Int, failureKind: String?, status: Int?, latencyMilliseconds: Int?) {
            self.target = target
            self.credentialIndex = credentialIndex
            self.failureKind = failureKind
            self.status = status
            self.latencyMilliseconds = latencyMilliseconds
        }
    }

    public var id: String
    /// When the request arrived.
    public var time: Date
    public var keyName: String?
    /// `openai` or `anthropic`.
    public var dialect: String
    public var route: String?
    /// The `provider/model` that answered.
    public var target: String?
    public var attempts: [Attempt]
    public var status: Int
    public var latencyMilliseconds: Int
    /// Until the response head (non-streamed) or the first content (streamed).
    public var timeToFirstByteMilliseconds: Int?
    public var usage: Usage?
    /// USD; nil when the target has no price or the usage is unknown (never zero for unknown).
    public var cost: Double?
    /// Whether `usage` and `cost` were estimated from the text seen (a stream without reported usage).
    public var usageEstimated: Bool
    public var stream: Bool
    /// The client's request body and the answer (a stream's text), only for routes with `log_bodies`.
    public var requestBody: String?
    public var responseBody: String?
    /// The end user the client named (OpenAI `user` or `safety_identifier`, Anthropic `metadata.user_id`),
    /// cut to ``maximumEndUserLength``.
    public var endUser: String?

    /// Longer end-user identifiers are cut before they reach the log.
    public static let maximumEndUserLength = 256

    public init(
        id: String, time: Date, keyName: String?, dialect: String, route: String?, target: String?, attempts: [Attempt], status: Int,
        latencyMilliseconds: Int, timeToFirstByteMilliseconds: Int?, usage: Usage?, cost: Double?, usageEstimated: Bool = false, stream: Bool,
        requestBody: String? = nil, responseBody: String? = nil
    ) {
        self.requestBody = requestBody
        self.responseBody = responseBody
        self.id = id
        self.time = time
        self.keyName = keyName
        self.dialect = dialect
        self.route = route
        self.target = target
        self.attempts = attempts
        self.status = status
        self.latencyMilliseconds = latencyMilliseconds
        self.timeToFirstByteMilliseconds = timeToFirstByteMilliseconds
        self.usage = usage
        self.cost = cost
        self.usageEstimated = usageEstimated
        self.stream = stream
    }
}

/// Which request-log entries to read, newest first.
public struct RequestQuery: Sendable, Hashable {
    /// One request by its id.
    public var id: String?
    public var keyName: String?
    public var route: String?
    /// The `provider/model` that answered (or was tried last).
    public var target: String?
    public var status: Int?
    public var since: Date?
    public var until: Date?
    /// At most this many (1…1000).
    public var limit: Int
    /// Entries strictly older than this one's time, for the next page.
    public var before: Date?

    public init(keyName: String? = nil, route: String? = nil, status: Int? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 100, before: Date? = nil) {
        self.keyName = keyName
        self.route = route
        self.status = status
        self.since = since
        self.until = until
        self.limit = min(max(limit, 1), 1000)
        self.before = before
    }
}

/// Totals over a time range, grouped by one dimension.
public struct UsageQuery: Sendable, Hashable {
    public enum Grouping: String, Sendable, Hashable, CaseIterable {
        case key
        case route
        case target
        case provider
        case day
    }

    public var since: Date
    public var until: Date
    public var groupBy: Grouping

    public init(since: Date, until: Date, groupBy: Grouping) {
        self.since = since
        self.until = until
        self.groupBy = groupBy
    }
}

public struct UsageRow: Sendable, Hashable {
    public var group: String
    public var requests: Int
    public var errors: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var cost: Double
    /// Requests whose cost is unknown (unpriced target or no usage): not in `cost`.
    public var unpricedRequests: Int

    public init(group: String, requests: Int, errors: Int, promptTokens: Int, completionTokens: Int, cachedTokens: Int, cost: Double, unpricedRequests: Int) {
        self.group = group
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cost = cost
        self.unpricedRequests = unpricedRequests
    }
}

/// Where the request log lives. One small protocol, so a back end is one type (SQLite now).
public protocol AccountingStore: Sendable {
    /// Creates or migrates the schema; refuses a database newer than this build.
    func migrate() async throws
    func insert(_ records: [RequestRecord]) async throws
    func requests(_ query: RequestQuery) async throws -> [RequestRecord]
    func usage(_ query: UsageQuery) async throws -> [UsageRow]
    /// What `keyName` spent since `date` (day-granular: the daily totals of the days from `date`'s on).
    func spend(keyName: String, since date: Date) async throws -> Double
    /// The latest day (`YYYY-MM-DD`) each key has traffic on, from the daily totals: one small query,
    /// where asking the log per key would scan it for every key never used.
    func lastUsedDays() async throws -> [String: String]
    /// Deletes log entries older than `date` (daily totals are kept).
    func prune(before date: Date) async throws
    /// Whether the store answers (for readiness).
    func isReachable() async -> Bool
    func close() async
}
