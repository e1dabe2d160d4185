import Foundation
import NIOHTTP1
import SwitchyardCore
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("Client-chosen names cost bounded memory and metric labels")
struct DirectTargetBoundTests {
    @Test func manyDistinctDirectTargetsStayBoundedAndLabelsStayPrintable() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let config = TestConfigs.singleVendor()
        try await LiveGateway.run(vendors: [a], config: config) { gateway in
            for index in 0..<200 {
                let model = "a/model-\(index)-\r\u{0}\u{1b}[31m"
                let result = try await gateway.post("/v1/chat/completions", json: ["model": .string(model), "messages": [["role": "user", "content": "x"]]], key: nil)
                #expect(result.status == 200)
            }
            // A name the route lists shares the route target's state.
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "a/gpt-4o", "messages": [["role": "user", "content": "x"]]], key: nil)
            let targets = gateway.gateway.table.allTargets
            #expect(targets.count <= 1 + DirectTargets.maximumTracked)
            #expect(targets.filter { $0.name == "a/gpt-4o" }.count == 1)

            let metrics = try await gateway.send(.GET, "/metrics")
            #expect(!metrics.body.utf8.contains { $0 == 0x0D || $0 == 0x00 || $0 == 0x1B })
            let attemptLines = metrics.body.split(separator: "\n").filter { $0.hasPrefix("switchyard_upstream_attempts_total{") }
            let labels = Set(attemptLines.compactMap { line -> Substring? in
                guard let start = line.range(of: "target=\"")?.upperBound, let end = line[start...].firstIndex(of: "\"") else { return nil }
                return line[start..<end]
            })
            #expect(labels.count <= DirectTargets.maximumLabelled + 2)
            #expect(labels.contains("a/other"))

            let long = "a/" + String(repeating: "m", count: 300)
            let refused = try await gateway.post("/v1/chat/completions", json: ["model": .string(long), "messages": [["role": "user", "content": "x"]]], key: nil)
            #expect(refused.status == 400)
        }
    }
}
