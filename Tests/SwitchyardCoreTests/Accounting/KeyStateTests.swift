import Foundation
import SwitchyardCore
import Testing

@Suite struct KeyStateTests {
    static let monday = Date(timeIntervalSince1970: 1_764_547_200)  // 2025-12-01T00:00:00Z, a Monday

    @Test func periodsAreUTCAndWeeksStartOnMonday() {
        #expect(KeyState.periodStart(.week, at: Self.monday.addingTimeInterval(6 * 86_400 + 3600)) == Self.monday)
        #expect(KeyState.periodStart(.week, at: Self.monday.addingTimeInterval(-1)) == Self.monday.addingTimeInterval(-7 * 86_400))
        #expect(KeyState.periodStart(.month, at: Self.monday.addingTimeInterval(10 * 86_400)) == Self.monday)
        #expect(KeyState.periodStart(.day, at: Self.monday.addingTimeInterval(86_399)) == Self.monday)
        #expect(KeyState.periodStart(.total, at: Self.monday) == Date(timeIntervalSince1970: 0))
    }

    /// The request that crosses the limit is refused, and so is the next; a new minute admits again.
    @Test func requestsPerMinuteAtTheBoundary() {
        let state = KeyState(name: "k")
        let limits = KeyLimits(requestsPerMinute: 2)
        let now = Self.monday.addingTimeInterval(30)
        for remaining in ["1", "0"] {
            guard case .success(let reservation) = state.admit(limits: limits, budget: nil, estimatedTokens: 10, estimatedCost: 0, now: now) else {
                Issue.record("admitted expected")
                return
            }
            #expect(reservation.headers.first { $0.name == "x-ratelimit-remaining-requests" }?.value == remaining)
        }
        for _ in 0..<2 {
            guard case .failure(.rateLimited(let retryAfter, _, _)) = state.admit(limits: limits, budget: nil, estimatedTokens: 10, estimatedCost: 0, now: now) else {
                Issue.record("refusal expected")
                return
            }
            #expect(retryAfter == .seconds(60))  // the window opened with the first request, just now
        }
        #expect((try? state.admit(limits: limits, budget: nil, estimatedTokens: 10, estimatedCost: 0, now: now.addingTimeInterval(59)).get()) == nil)
        #expect((try? state.admit(limits: limits, budget: nil, estimatedTokens: 10, estimatedCost: 0, now: now.addingTimeInterval(60)).get()) != nil)
    }

    @Test func tokensPerMinuteCountWhatWasUsed() throws {
        let state = KeyState(name: "k")
        let limits = KeyLimits(tokensPerMinute: 1000)
        let reservation = try state.admit(limits: limits, budget: nil, estimatedTokens: 100, estimatedCost: 0, now: Self.monday).get()
        state.settle(reservation, cost: nil, tokens: 1200, now: Self.monday)  // used more than estimated
        guard case .failure(.rateLimited) = state.admit(limits: limits, budget: nil, estimatedTokens: 1, estimatedCost: 0, now: Self.monday) else {
            Issue.record("the minute's tokens are spent")
            return
        }
    }

    /// 64 concurrent reservations against a budget that fits 6: exactly 6 are admitted, whatever the interleaving.
    @Test func racingReservationsNeverOverspend() async {
        let state = KeyState(name: "k")
        let budget = KeyBudget(usd: 0.1, period: .month)
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 {
                group.addTask { (try? state.admit(limits: nil, budget: budget, estimatedTokens: 0, estimatedCost: 0.015, now: Self.monday).get()) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 6)
        #expect(abs(state.committed(budget: budget, now: Self.monday) - 0.09) < 1e-12)
    }

    @Test func settlingReplacesTheReservationAndSaysWhenTheAlertShareIsCrossed() throws {
        let state = KeyState(name: "k")
        let budget = KeyBudget(usd: 1, period: .day, alertAt: 0.8)
        let first = try state.admit(limits: nil, budget: budget, estimatedTokens: 0, estimatedCost: 0.5, now: Self.monday).get()
        #expect(!state.settle(first, cost: 0.7, tokens: nil, now: Self.monday))
        let second = try state.admit(limits: nil, budget: budget, estimatedTokens: 0, estimatedCost: 0.2, now: Self.monday).get()
        #expect(state.settle(second, cost: 0.15, tokens: nil, now: Self.monday))  // 0.85 ≥ 80%: alert once
        #expect(abs(state.committed(budget: budget, now: Self.monday) - 0.85) < 1e-12)
        guard case .failure(.overBudget) = state.admit(limits: nil, budget: budget, estimatedTokens: 0, estimatedCost: 0.2, now: Self.monday) else {
            Issue.record("0.85 + 0.2 does not fit in 1")
            return
        }
        // A new day is a new budget.
        #expect((try? state.admit(limits: nil, budget: budget, estimatedTokens: 0, estimatedCost: 0.2, now: Self.monday.addingTimeInterval(86_400)).get()) != nil)
    }
}
