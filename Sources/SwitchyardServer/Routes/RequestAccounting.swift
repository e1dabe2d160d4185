import Foundation
import SwitchyardCore

/// One request's entry in the request log, filled in as the request goes: who asked, through which
/// route, what each attempt did, what the answer used and cost.
struct RequestAccounting: Sendable {
    let log: RequestLog?
    let prices: PriceBook
    /// The route's own prices, looked up first (the catalog is searched only for targets outside it).
    var pricedRoute: ResolvedRoute? = nil
    let requestID: String
    let arrived = Date()
    let started = ContinuousClock.now
    let keyName: String?
    let dialect: String
    let route: String
    let stream: Bool
    /// The request's estimated prompt size, for a stream that ends without reported usage.
    let estimatedPromptTokens: Int
    /// The route's counters, when it is a configured route.
    var routeMetrics: RouteMetrics? = nil
    /// The key's claim on its limits and budget, settled when the request ends.
    var keyState: KeyState? = nil
    var reservation: KeyState.Reservation? = nil
    /// Where a crossed budget alert share goes (the webhook).
    var alert: (@Sendable (JSONValue) -> Void)? = nil
    /// The client's body, kept only for routes with `log_bodies` (and never when it holds a known secret).
    var requestBody: String? = nil
    /// The end user the client named, for the log.
    var endUser: String? = nil
    var redactor: SecretRedactor? = nil

    /// Bodies longer than this are cut in the log.
    static let bodyLimit = 1 << 20

    /// `text` as the log may keep it: cut to ``bodyLimit``, and not at all when it holds a secret.
    func loggable(_ text: String?) -> String? {
        guard let text else { return nil }
        if redactor?.containsSecret(text.utf8) == true { return "[not kept: holds a secret]" }
        return text.utf8.count <= Self.bodyLimit ? text : String(decoding: text.utf8.prefix(Self.bodyLimit), as: UTF8.self) + "…"
    }

    /// The cost of `usage` at `target`'s price; nil when either is unknown.
    func cost(of usage: Usage?, at target: String?) -> Double? {
        guard let usage, let target, let price = pricedRoute?.price(target: target) ?? prices.price(target: target) else { return nil }
        return price.cost(of: usage)
    }

    /// Writes the entry. With no usage reported but `streamedCharacters` seen, usage is estimated from the
    /// text and marked so (a client that went away, a vendor without stream usage).
    /// - Parameter target: the answering target, whose counters get the usage and cost.
    func finish(
        status: Int, report: ExecutionReport?, usage reported: Usage?, streamedCharacters: Int? = nil, firstByteAt: ContinuousClock.Instant? = nil,
        target: TargetState? = nil, responseBody: String? = nil
    ) {
        var usage = reported
        var estimated = false
        if usage == nil, let characters = streamedCharacters, characters > 0 {
            usage = Usage(promptTokens: estimatedPromptTokens, completionTokens: TokenEstimate.tokens(inText: characters))
            estimated = true
        }
        let cost = cost(of: usage, at: report?.target)
        if let keyState, let reservation {
            // Nothing answered: nothing was spent. Otherwise the real cost (an unknown one keeps the reservation).
            let crossed = keyState.settle(reservation, cost: report?.target == nil ? 0 : cost, tokens: usage?.totalTokens ?? (report?.target == nil ? 0 : nil))
            if crossed, let budget = reservation.budget {
                alert?([
                    "type": "budget_threshold", "key": .string(keyState.name), "period": .string(budget.period.rawValue),
                    "spent_usd": .double(keyState.committed(budget: budget)), "budget_usd": .double(budget.usd), "alert_at": .double(budget.alertAt ?? 1),
                    "at": .string(ISO8601DateFormatter().string(from: Date())),
                ])
            }
        }
        target?.metrics.count(usage: usage, cost: cost, timeToFirstByte: firstByteAt.map { $0 - started })
        routeMetrics?.count(usage: usage, cost: cost)
        guard let log else { return }
        let attempts = (report?.attempts ?? []).map { attempt in
            RequestRecord.Attempt(
                target: attempt.target, credentialIndex: attempt.credentialIndex, failureKind: attempt.failure?.kind.rawValue,
                status: attempt.failure?.status, latencyMilliseconds: attempt.latency.map(Self.milliseconds))
        }
        var record =
            RequestRecord(
                id: requestID, time: arrived, keyName: keyName, dialect: dialect, route: route, target: report?.target, attempts: attempts,
                status: status, latencyMilliseconds: Self.milliseconds(.now - started),
                timeToFirstByteMilliseconds: firstByteAt.map { Self.milliseconds($0 - started) }, usage: usage,
                cost: cost, usageEstimated: estimated, stream: stream, requestBody: loggable(requestBody),
                responseBody: requestBody == nil ? nil : loggable(responseBody))
        record.endUser = endUser.map { String(decoding: $0.utf8.prefix(RequestRecord.maximumEndUserLength), as: UTF8.self) }
        log.record(record)
    }

    /// Runs `work`; when no target answered, writes the entry with what was tried before passing the failure on.
    func recordingFailure<T: Sendable>(_ work: () async throws(ExecutionFailure) -> T) async throws(ExecutionFailure) -> T {
        let result: Result<T, ExecutionFailure>
        do { result = .success(try await work()) } catch { result = .failure(error) }
        if case .failure(let failure) = result { finish(status: failure.error.status, report: failure.report, usage: nil) }
        return try result.get()
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
