import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite("Concurrency under random upstream failures")
struct ConcurrencyTests {
    static let config = """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [ka]}
          b: {type: openai, base_url: "http://127.0.0.1:{{b}}/v1", keys: [kb]}
          c: {type: openai, base_url: "http://127.0.0.1:{{c}}/v1", keys: [kc]}
        models:
          first: {strategy: priority, targets: [a/m1, b/m1]}
          second: {strategy: least-busy, targets: [b/m2, c/m2]}
        routing:
          attempts: 10
          deadline: 60s
          backoff: {base: 1ms, max: 2ms}
          circuit_breaker: {failures: 12, cooldown: 1s}
        keys:
          - {name: app, key: test-key}
        """

    @Test func twoThousandRequestsAllSucceedWhileUpstreamsFailOneInFive() async throws {
        let vendors = ["a", "b", "c"].enumerated().map { offset, name in
            let vendor = SimulatedVendor(name: name, format: .openai, defaultReply: SimulatedReply(text: "ok"))
            vendor.failRandomly(rate: 0.2, seed: UInt64(offset + 11), with: ResilienceConfigs.serverError)
            return vendor
        }
        try await LiveGateway.run(vendors: vendors, config: Self.config, timeout: .seconds(300)) { gateway in
            let total = 2000
            let next = SharedCounter()
            let outcomes = try await withThrowingTaskGroup(of: [Int: Int].self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        var statuses: [Int: Int] = [:]
                        while true {
                            let index = next.take()
                            guard index < total else { break }
                            let model = index.isMultiple(of: 2) ? "first" : "second"
                            let result = try await gateway.post(
                                "/v1/chat/completions", json: ["model": .string(model), "messages": [["role": "user", "content": .string("request \(index)")]]])
                            statuses[result.status, default: 0] += 1
                        }
                        return statuses
                    }
                }
                return try await group.reduce(into: [Int: Int]()) { $0.merge($1, uniquingKeysWith: +) }
            }
            #expect(outcomes == [200: total])

            // Every upstream request is accounted for: one success per client request, the rest failures.
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let targets = (admin.json?["providers"]?.arrayValue ?? []).flatMap { $0["targets"]?.arrayValue ?? [] }
            let successes = targets.reduce(0) { $0 + ($1["successes"]?.intValue ?? 0) }
            let failures = targets.reduce(0) { $0 + ($1["failures"]?.intValue ?? 0) }
            #expect(successes == total)
            #expect(successes + failures == vendors.reduce(0) { $0 + $1.requestCount })
            #expect(targets.allSatisfy { $0["in_flight"] == 0 })
            // The Prometheus view agrees with the admin view and with the client's count.
            let metrics = try await gateway.send(.GET, "/metrics").body
            #expect(metricSum(metrics, name: "switchyard_upstream_attempts_total", where: #"outcome="ok""#) == Double(total))
            #expect(metricSum(metrics, name: "switchyard_upstream_attempts_total", where: #"outcome="overloaded""#) == Double(failures))
            #expect(metricSum(metrics, name: "switchyard_requests_total", where: #"status_class="2xx""#) == Double(total))
            #expect(metricSum(metrics, name: "switchyard_requests_total", where: #"status_class="5xx""#) == 0)
            let failed = vendors.reduce(0) { $0 + $1.requestCount } - total
            #expect(Double(failed) / Double(successes + failures) > 0.1)
        }
    }
}

/// Hands out 0, 1, 2, … to concurrent workers.
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// Sums the samples of a Prometheus metric whose label set contains `filter`.
func metricSum(_ text: String, name: String, where filter: String) -> Double {
    text.split(separator: "\n").reduce(0) { sum, line in
        guard line.hasPrefix(name + "{"), line.contains(filter), let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { return sum }
        return sum + value
    }
}
