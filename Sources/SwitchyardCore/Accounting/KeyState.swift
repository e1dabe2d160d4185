public import Foundation
import Synchronization

/// What one virtual key has used: requests and tokens this minute, and money this budget period.
/// Kept across config reloads; each request takes this key's locks only, never a global one.
public final class KeyState: Sendable {
    public let name: String

    /// A one-minute window that opens with the first request after the previous one closed.
    private struct Window {
        var start = -Double.infinity
        var requests = 0
        var tokens = 0
    }

    private struct Spend {
        /// Which period the total belongs to (days, weeks or months since 1970; 0 for `total`).
        var period = Int.min
        /// Spent plus reserved by requests still running, USD.
        var committed = 0.0
        var alerted = false
    }

    private let window = Mutex(Window())
    private let spend = Mutex(Spend())

    public init(name: String) {
        self.name = name
    }

    /// A request's claim on the key, settled when it ends.
    public struct Reservation: Sendable {
        public var cost: Double
        public var tokens: Int
        public var budget: KeyBudget?
        /// Rate-limit headers for the answer (`x-ratelimit-…`).
        public var headers: [(name: String, value: String)]
    }

    public enum Refusal: Error, Sendable {
        /// Over `rpm` or `tpm`: retry after the window rolls.
        case rateLimited(retryAfter: Duration, headers: [(name: String, value: String)], what: String)
        /// The budget cannot fit this request's estimated cost.
        case overBudget(spent: Double, limit: Double, period: KeyBudget.Period)
    }

    /// Admits a request of `estimatedTokens` that may cost up to `estimatedCost`, or says why not. The
    /// budget check and the reservation are one step, so concurrent requests cannot both fit in what is left.
    public func admit(
        limits: KeyLimits?, budget: KeyBudget?, estimatedTokens: Int, estimatedCost: Double, now: Date = Date()
    ) -> Result<Reservation, Refusal> {
        var headers: [(name: String, value: String)] = []
        if let limits {
            let time = now.timeIntervalSince1970
            let outcome: Result<[(name: String, value: String)], Refusal> = window.withLock { window in
                if time - window.start >= 60 || time < window.start { window = Window(start: time) }
                let retryAfter = Duration.seconds(max(1, Int((window.start + 60 - time).rounded(.up))))
                var headers: [(name: String, value: String)] = []
                if let rpm = limits.requestsPerMinute {
                    headers += [("x-ratelimit-limit-requests", String(rpm)), ("x-ratelimit-remaining-requests", String(max(0, rpm - window.requests - 1)))]
                    guard window.requests < rpm else {
                        return .failure(.rateLimited(retryAfter: retryAfter, headers: headers, what: "\(rpm) requests per minute"))
                    }
                }
                if let tpm = limits.tokensPerMinute {
                    headers += [("x-ratelimit-limit-tokens", String(tpm)), ("x-ratelimit-remaining-tokens", String(max(0, tpm - window.tokens)))]
                    guard window.tokens < tpm else {
                        return .failure(.rateLimited(retryAfter: retryAfter, headers: headers, what: "\(tpm) tokens per minute"))
                    }
                }
                window.requests += 1
                window.tokens += estimatedTokens  // settled to the real count when the request ends
                return .success(headers)
            }
            switch outcome {
            case .failure(let refusal): return .failure(refusal)
            case .success(let limitHeaders): headers = limitHeaders
            }
        }
        if let budget {
            let period = Self.period(budget.period, at: now)
            let refused: Refusal? = spend.withLock { spend in
                if spend.period != period { spend = Spend(period: period) }
                guard spend.committed + estimatedCost <= budget.usd else {
                    return .overBudget(spent: spend.committed, limit: budget.usd, period: budget.period)
                }
                spend.committed += estimatedCost
                return nil
            }
            if let refused {
                if limits != nil { window.withLock { $0.requests -= 1; $0.tokens -= estimatedTokens } }
                return .failure(refused)
            }
        }
        return .success(Reservation(cost: estimatedCost, tokens: estimatedTokens, budget: budget, headers: headers))
    }

    /// Replaces the reservation by what the request used; says when the budget's alert share was crossed.
    @discardableResult
    public func settle(_ reservation: Reservation, cost actual: Double?, tokens: Int?, now: Date = Date()) -> Bool {
        if let tokens { window.withLock { $0.tokens += tokens - reservation.tokens } }
        guard let budget = reservation.budget else { return false }
        let period = Self.period(budget.period, at: now)
        return spend.withLock { spend in
            guard spend.period == period else { return false }  // the period rolled over while it ran
            // An unknown cost keeps the reservation: it cannot be proved smaller.
            spend.committed += (actual ?? reservation.cost) - reservation.cost
            guard let share = budget.alertAt, !spend.alerted, spend.committed >= budget.usd * share else { return false }
            spend.alerted = true
            return true
        }
    }

    /// Spending already recorded this period (from the store, at start).
    public func restore(spent: Double, budget: KeyBudget, now: Date = Date()) {
        spend.withLock { spend in
            spend = Spend(period: Self.period(budget.period, at: now), committed: spent)
        }
    }

    /// The committed spend (spent and reserved) of the current period.
    public func committed(budget: KeyBudget, now: Date = Date()) -> Double {
        spend.withLock { $0.period == Self.period(budget.period, at: now) ? $0.committed : 0 }
    }

    /// The index of `date`'s UTC period; weeks start on Monday.
    static func period(_ period: KeyBudget.Period, at date: Date) -> Int {
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        switch period {
        case .day: return days
        case .week: return (days + 3) / 7  // 1970-01-01 was a Thursday: +3 makes weeks start on Monday
        case .month:
            let parts = utcCalendar.dateComponents([.year, .month], from: date)
            return (parts.year ?? 1970) * 12 + (parts.month ?? 1)
        case .total: return 0
        }
    }

    /// When the period containing `date` began.
    public static func periodStart(_ period: KeyBudget.Period, at date: Date) -> Date {
        let index = Self.period(period, at: date)
        switch period {
        case .day: return Date(timeIntervalSince1970: Double(index) * 86_400)
        case .week: return Date(timeIntervalSince1970: Double(index * 7 - 3) * 86_400)
        case .month: return utcCalendar.date(from: utcCalendar.dateComponents([.year, .month], from: date)) ?? date
        case .total: return Date(timeIntervalSince1970: 0)
        }
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
