import SwitchyardCore
import SwitchyardSimulator
import Testing

/// A provider adapter that is never called: ordering tests need targets, not traffic.
private struct InertProvider: ChatProvider {
    var descriptor: ProviderDescriptor { ProviderDescriptor(name: "p", type: "openai", baseURL: "http://127.0.0.1:1") }
    func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest { UpstreamRequest(url: "http://127.0.0.1:1") }
    func decodeChatResponse(_ body: NIOCoreBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse {
        throw UpstreamFailure(kind: .unavailable, message: "inert")
    }
    func makeStreamDecoder() -> any ChatStreamDecoder { InertDecoder() }
    func classifyFailure(head: UpstreamHead, body: NIOCoreBuffer) -> UpstreamFailure { UpstreamFailure(kind: .unavailable, message: "inert") }
}

private struct InertTransport: UpstreamTransport {
    func execute(_ request: UpstreamRequest, headDeadline: ContinuousClock.Instant) async throws(UpstreamFailure) -> UpstreamResponse {
        throw UpstreamFailure(kind: .unavailable, message: "inert")
    }
}

private struct InertDecoder: ChatStreamDecoder {
    mutating func decode(_ bytes: NIOCoreBuffer) throws(UpstreamFailure) -> [ChatEvent] { [] }
    mutating func finish() throws(UpstreamFailure) -> [ChatEvent] { [] }
}

import NIOCore
typealias NIOCoreBuffer = ByteBuffer

@Suite struct TargetOrderingTests {
    func route(_ strategy: RoutingStrategy, weights: [Double]) -> ResolvedRoute {
        let provider = ProviderRuntime(config: ProviderConfig(name: "p", type: "openai", keys: ["k"]), adapter: InertProvider(), credentials: [], transport: InertTransport())
        let targets = weights.indices.map { TargetState(ref: TargetRef(provider: "p", model: "m\($0)"), provider: provider, breaker: CircuitBreakerConfig()) }
        return ResolvedRoute(name: "r", strategy: strategy, targets: targets, weights: weights, contextFallback: nil, defaultMaxTokens: nil)
    }

    @Test func weightedSpreadsFirstChoicesByWeight() {
        let route = route(.weighted, weights: [1, 3, 6])
        var generator = SplitMix64(seed: 42)
        var firsts: [String: Int] = [:]
        let draws = 20_000
        for _ in 0..<draws {
            let ordered = TargetOrdering.order(route, using: &generator)
            firsts[ordered[0].name, default: 0] += 1
            #expect(Set(ordered.map(\.name)).count == 3)
        }
        for (index, weight) in [1.0, 3, 6].enumerated() {
            let share = Double(firsts["p/m\(index)"] ?? 0) / Double(draws)
            #expect(abs(share - weight / 10) < 0.02, "target \(index): \(share)")
        }
    }

    @Test func latencyPrefersTheFastestMeasuredTargetWithSomeExploration() {
        let route = route(.latency, weights: [1, 1, 1])
        let now = ContinuousClock.now
        for (target, latency) in zip(route.targets, [Duration.milliseconds(300), .milliseconds(50), .milliseconds(900)]) {
            _ = target.record(failure: nil, latency: latency, now: now)
        }
        var generator = SplitMix64(seed: 1)
        var fastestFirst = 0
        let draws = 10_000
        for _ in 0..<draws where TargetOrdering.order(route, using: &generator)[0].name == "p/m1" {
            fastestFirst += 1
        }
        let share = Double(fastestFirst) / Double(draws)
        // 95 % exploit, plus a third of the 5 % random exploration.
        #expect(abs(share - (0.95 + 0.05 / 3)) < 0.01, "\(share)")
    }

    @Test func leastBusyPicksTheTargetWithFewestInFlight() {
        let route = route(.leastBusy, weights: [1, 1, 1])
        route.targets[0].acquire()
        route.targets[0].acquire()
        route.targets[2].acquire()
        var generator = SplitMix64(seed: 3)
        #expect(TargetOrdering.order(route, using: &generator).map(\.name) == ["p/m1", "p/m2", "p/m0"])
    }

    @Test func priorityKeepsConfigOrder() {
        let route = route(.priority, weights: [1, 1, 1])
        var generator = SplitMix64(seed: 3)
        #expect(TargetOrdering.order(route, using: &generator).map(\.name) == ["p/m0", "p/m1", "p/m2"])
    }
}
