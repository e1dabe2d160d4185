import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Synchronization
import Testing

enum ResilienceConfigs {
    /// Two OpenAI-format vendors, `a` (with two keys) and `b`; route `smart` tries a, then b.
    static func twoTargets(aBaseURL: String = "http://127.0.0.1:{{a}}/v1", routing: String = "", timeout: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          a:
            type: openai
            base_url: \(aBaseURL)
            keys: [key-a-0, key-a-1]
            \(timeout)
          b:
            type: openai
            base_url: http://127.0.0.1:{{b}}/v1
            keys: [key-b-0]
        models:
          smart:
            strategy: priority
            targets: [a/gpt-4o, b/gpt-4o]
          only-a: a/gpt-4o
        routing:
          attempts: 4
          deadline: 30s
          backoff: {base: 1ms, max: 5ms}
          \(routing)
        keys:
          - name: app
            key: test-key
        """
    }

    static let serverError: SimulatorScenario = .error(status: 500, body: ["error": ["message": "boom", "type": "server_error", "param": .null, "code": .null]])
}

let hello: JSONValue = ["model": "smart", "messages": [["role": "user", "content": "hello"]]]

@Suite("Resilience: failover, breakers, credentials")
struct ResilienceTests {
    @Test func serverErrorFailsOverToTheNextTarget() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai, defaultReply: SimulatedReply(text: "from b"))
        a.enqueue(ResilienceConfigs.serverError)
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets()) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            #expect(result.headers.first(name: "x-switchyard-attempts") == "2")
            #expect(a.requests.count == 1 && b.requests.count == 1)
        }
    }

    @Test func rateLimitMovesOnAndHonoursRetryAfterPerCredential() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        a.enqueue(.error(status: 429, body: try Fixtures.json("openai/error_rate_limit_429.json"), headers: ["retry-after": "60"]))
        let clock = ManualTimeSource()
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets(), timeSource: clock) { gateway in
            let first = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(first.status == 200)
            // Rate limited on key 0: the same target is retried at once with the other key.
            #expect(first.headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            #expect(a.requests.map { $0.headers["authorization"] } == ["Bearer key-a-0", "Bearer key-a-1"])
            // While key 0 cools down, every request uses key 1.
            for _ in 0..<3 { #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200) }
            #expect(a.requests.dropFirst(2).allSatisfy { $0.headers["authorization"] == "Bearer key-a-1" })
            clock.advance(by: .seconds(61))
            for _ in 0..<2 { _ = try await gateway.post("/v1/chat/completions", json: hello) }
            #expect(a.requests.suffix(2).contains { $0.headers["authorization"] == "Bearer key-a-0" })
            #expect(b.requests.isEmpty)
        }
    }

    @Test func whenEveryTargetIsRateLimitedTheClientGets429WithRetryAfter() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let limited: SimulatorScenario = .error(status: 429, body: try Fixtures.json("openai/error_rate_limit_429.json"), headers: ["retry-after": "7"])
        a.failEvery(1, with: limited)
        b.failEvery(1, with: limited)
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets()) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 429)
            #expect(result.headers.first(name: "retry-after") == "7")
            #expect(result.json?["error"]?["type"] == "rate_limit_error")
            // Both keys of a and the key of b were tried once each; none is hammered again.
            #expect(a.requests.count == 2 && b.requests.count == 1)
        }
    }

    @Test func anExhaustedQuotaDisablesTheKeyAndMovesOn() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        a.enqueue(.error(status: 429, body: try Fixtures.json("openai/error_insufficient_quota_429.json")))
        try await LiveGateway.run(vendors: [a, SimulatedVendor(name: "b", format: .openai)], config: ResilienceConfigs.twoTargets()) { gateway in
            for _ in 0..<3 { #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200) }
            #expect(a.requests.filter { $0.headers["authorization"] == "Bearer key-a-0" }.count == 1)
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let credentials = admin.json?["providers"]?.arrayValue?.first { $0["name"] == "a" }?["credentials"]?.arrayValue
            #expect(credentials?[0]["state"] == "quota_exhausted")
        }
    }

    @Test func contextOverflowGoesToTheConfiguredLargerRoute() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai, defaultReply: SimulatedReply(text: "long context answer"))
        a.enqueue(.error(status: 400, body: try Fixtures.json("openai/error_context_length_400.json")))
        let config = ResilienceConfigs.twoTargets().replacingOccurrences(
            of: "  only-a: a/gpt-4o", with: "  only-a: {targets: [a/gpt-4o], context_fallback: big}\n  big: b/gpt-4.1")
        try await LiveGateway.run(vendors: [a, b], config: config) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: ["model": "only-a", "messages": [["role": "user", "content": "very long"]]])
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "b/gpt-4.1")
            #expect(result.headers.first(name: "x-switchyard-attempts") == "2")
            #expect(b.requests.last?.body?["model"] == "gpt-4.1")
        }
    }

    @Test func connectionRefusedFailsOver() async throws {
        let b = SimulatedVendor(name: "b", format: .openai)
        try await LiveGateway.run(vendors: [b], config: ResilienceConfigs.twoTargets(aBaseURL: "http://127.0.0.1:1/v1")) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
        }
    }

    @Test func connectionResetFailsOver() async throws {
        let reset = try await ResetServer.start()
        defer { reset.channel.close(promise: nil) }
        let b = SimulatedVendor(name: "b", format: .openai)
        try await LiveGateway.run(vendors: [b], config: ResilienceConfigs.twoTargets(aBaseURL: "http://127.0.0.1:\(reset.port)/v1")) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
        }
    }

    @Test func aHungUpstreamCostsOnlyItsFirstByteTimeout() async throws {
        let release = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        a.enqueue(.hang(release: release), .hang(release: release))
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets(timeout: "timeout: {first_byte: 1s, total: 60s}")) { gateway in
            var vendorEvents = a.events.makeAsyncIterator()
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 200)
            #expect(result.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            // The hung vendor did get the request (on a starved box it may record it after the failover).
            #expect(await vendorEvents.next() == .requestReceived(path: "/v1/chat/completions"))
            // Streams too: the first event must come within first_byte.
            let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]])
            #expect(response.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
            #expect(try await reader.all().last?.data == "[DONE]")
            release.open()
        }
    }

    @Test func aRevokedKeyIsSkippedAndShownRevoked() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let config = ResilienceConfigs.twoTargets().replacingOccurrences(of: "keys: [key-a-0, key-a-1]", with: "keys: [revoked-key-a-0, key-a-1]")
        let alerts = AlertRecorder()
        try await LiveGateway.run(vendors: [a, b], config: config, observer: RoutingObserver(sink: alerts.record)) { gateway in
            for _ in 0..<4 {
                let result = try await gateway.post("/v1/chat/completions", json: hello)
                #expect(result.status == 200)
                #expect(result.headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            }
            // One 401 on key 0; every later request went straight to key 1.
            #expect(a.requests.filter { $0.headers["authorization"] == "Bearer revoked-key-a-0" }.count == 1)
            #expect(a.requests.count == 5)
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let provider = try #require(admin.json?["providers"]?.arrayValue?.first { $0["name"] == "a" })
            #expect(provider["credentials"]?.arrayValue?[0]["state"] == "revoked")
            #expect(provider["credentials"]?.arrayValue?[0]["disabled_since"] != nil)
            #expect(provider["credentials"]?.arrayValue?[1]["state"] == "healthy")
            #expect(!admin.body.contains("key-a"))
            #expect(alerts.events.contains { if case .credentialDisabled("a", 0, .authFailed, _) = $0 { true } else { false } })
            let denied = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer test-key"])
            #expect(denied.status == 401)
        }
    }

    @Test func aKeyWithItsOwnOutageIsIsolatedByItsCircuit() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let config = ResilienceConfigs.twoTargets(routing: "circuit_breaker: {failures: 2, cooldown: 30s}")
            .replacingOccurrences(of: "keys: [key-a-0, key-a-1]", with: "keys: [failing-a-0, key-a-1]")
        try await LiveGateway.run(vendors: [a, b], config: config, timeSource: ManualTimeSource()) { gateway in
            for _ in 0..<10 { #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200) }
            // Two failures open the key's own circuit; the target stays healthy and serves on the other key.
            #expect(a.requests.filter { $0.headers["authorization"] == "Bearer failing-a-0" }.count == 2)
            #expect(b.requests.count == 2)
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let provider = admin.json?["providers"]?.arrayValue?.first { $0["name"] == "a" }
            #expect(provider?["credentials"]?.arrayValue?[0]["state"] == "circuit_open")
            #expect(provider?["credentials"]?.arrayValue?[1]["state"] == "healthy")
            #expect(provider?["targets"]?.arrayValue?.first?["state"] == "healthy")
        }
    }

    @Test func whenEveryTargetIsDownOneClearErrorListsWhatWasTried() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        a.failEvery(1, with: ResilienceConfigs.serverError)
        b.failEvery(1, with: .error(status: 503, body: ["error": ["message": "down", "type": "server_error", "param": .null, "code": .null]]))
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets()) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 503)
            #expect(result.headers.first(name: "x-switchyard-attempts") == "4")
            let message = try #require(result.json?["error"]?["message"]?.stringValue)
            #expect(message.contains("a/gpt-4o (key #0): overloaded 500"))
            #expect(message.contains("b/gpt-4o (key #0): overloaded 503"))
            #expect(!message.contains("key-a-0") && !message.contains("key-b-0"))
            let anthropic = try await gateway.post("/v1/messages", json: ["model": "smart", "max_tokens": 10, "messages": [["role": "user", "content": "x"]]])
            // Anthropic's SDK reads an overload as 529 overloaded_error, as Anthropic sends it.
            #expect(anthropic.status == 529)
            #expect(anthropic.json?["type"] == "error")
            #expect(anthropic.json?["error"]?["type"] == "overloaded_error")
        }
    }

    @Test func invalidRequestsAreNotRetried() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        a.enqueue(.error(status: 400, body: ["error": ["message": "Unsupported parameter", "type": "invalid_request_error", "param": "foo", "code": .null]]))
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets()) { gateway in
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(result.status == 400)
            #expect(result.json?["error"]?["message"] == "Unsupported parameter")
            #expect(a.requests.count == 1 && b.requests.isEmpty)
        }
    }

    @Test func circuitOpensHalfOpensAndCloses() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        a.failEvery(1, with: ResilienceConfigs.serverError)
        let clock = ManualTimeSource()
        let alerts = AlertRecorder()
        let config = ResilienceConfigs.twoTargets(routing: "circuit_breaker: {failures: 3, cooldown: 30s}")
        try await LiveGateway.run(vendors: [a, b], config: config, timeSource: clock, observer: RoutingObserver(sink: alerts.record)) { gateway in
            for _ in 0..<3 { #expect(try await gateway.post("/v1/chat/completions", json: hello).status == 200) }
            #expect(a.requests.count == 3)
            // Open: during the cooldown the failing upstream receives nothing.
            for _ in 0..<5 {
                let result = try await gateway.post("/v1/chat/completions", json: hello)
                #expect(result.headers.first(name: "x-switchyard-attempts") == "1")
            }
            #expect(a.requests.count == 3)
            let admin = try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer admin-key-0123456789"])
            let openTarget = admin.json?["providers"]?.arrayValue?.first { $0["name"] == "a" }?["targets"]?.arrayValue?.first
            #expect(openTarget?["state"] == "circuit_open")
            #expect(openTarget?["open_until"]?.stringValue?.hasSuffix("Z") == true)
            #expect((openTarget?["recent_error_rate"]?.doubleValue ?? 0) > 0.1)
            #expect(openTarget?["last_error_kind"] == "overloaded")
            #expect(alerts.events.contains { if case .circuitOpened("a/gpt-4o", _) = $0 { true } else { false } })
            // After the cooldown one probe is let through; it fails and the circuit opens again.
            clock.advance(by: .seconds(30))
            _ = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(a.requests.count == 4)
            _ = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(a.requests.count == 4)
            // The upstream recovers: the next probe succeeds and closes the circuit.
            a.failEvery(nil, with: ResilienceConfigs.serverError)
            clock.advance(by: .seconds(30))
            let probe = try await gateway.post("/v1/chat/completions", json: hello)
            #expect(probe.headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            #expect(try await gateway.post("/v1/chat/completions", json: hello).headers.first(name: "x-switchyard-target") == "a/gpt-4o")
            #expect(alerts.events.contains { if case .circuitClosed("a/gpt-4o") = $0 { true } else { false } })
            let metrics = try await gateway.send(.GET, "/metrics").body
            #expect(metricSum(metrics, name: "switchyard_circuit_transitions_total", where: #"state="open""#) == 2)
            #expect(metricSum(metrics, name: "switchyard_circuit_transitions_total", where: #"state="closed""#) == 1)
        }
    }

    @Test func streamsFailOverBeforeTheFirstByte() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai, defaultReply: SimulatedReply(text: "streamed by b"))
        a.enqueue(.error(status: 529, body: ["error": ["message": "overloaded", "type": "server_error", "param": .null, "code": .null]]))
        a.enqueue(.failMidStream(afterChunks: 0, error: ["error": ["message": "Overloaded", "type": "overloaded_error", "param": .null, "code": .null]]))
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets()) { gateway in
            for _ in 0..<2 {
                let (response, reader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]])
                #expect(response.status.code == 200)
                #expect(response.headers.first(name: "x-switchyard-target") == "b/gpt-4o")
                let text = try await reader.all().compactMap { $0.json?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
                #expect(text == "streamed by b")
            }
        }
    }

    @Test func aFailureAfterTheFirstByteEndsTheStreamWithAnErrorEvent() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let b = SimulatedVendor(name: "b", format: .openai)
        let error: JSONValue = ["error": ["message": "Overloaded", "type": "overloaded_error", "param": .null, "code": .null]]
        a.enqueue(.failMidStream(afterChunks: 2, error: error), .failMidStream(afterChunks: 2, error: error))
        try await LiveGateway.run(vendors: [a, b], config: ResilienceConfigs.twoTargets()) { gateway in
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]])
            let events = try await reader.all()
            #expect(events.last?.json?["error"]?["type"] == "overloaded_error")
            #expect(!events.contains { $0.data == "[DONE]" })
            #expect(events.compactMap { $0.json?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined() == "partial partial")
            // Anthropic dialect: the stream ends with `event: error`.
            let (_, anthropic) = try await gateway.openStream("/v1/messages", json: ["model": "smart", "max_tokens": 5, "stream": true, "messages": [["role": "user", "content": "x"]]])
            let anthropicEvents = try await anthropic.all()
            #expect(anthropicEvents.last?.event == "error")
            #expect(anthropicEvents.last?.json?["error"]?["type"] == "overloaded_error")
            #expect(b.requests.isEmpty)
        }
    }

    @Test func aStreamThatGoesSilentMidwayEndsWithATimeoutEvent() async throws {
        let gate = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai, defaultReply: SimulatedReply(text: "one two", holdBeforeFinish: gate))
        let config = """
            listen: 127.0.0.1:0
            providers:
              a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [k], timeout: {first_byte: 2s, total: 60s}}
            models:
              smart: a/gpt-4o
            """
        try await LiveGateway.run(vendors: [a], config: config) { gateway in
            let (_, reader) = try await gateway.openStream("/v1/chat/completions", json: ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]], key: nil)
            let events = try await reader.all()
            #expect(events.compactMap { $0.json?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined() == "one two")
            #expect(events.last?.json?["error"]?["type"] == "timeout_error")
            gate.open()
        }
    }

    @Test func theDeadlineIsRespected() async throws {
        let release = SimulatorGate()
        let a = SimulatedVendor(name: "a", format: .openai)
        a.failEvery(1, with: .hang(release: release))
        let b = SimulatedVendor(name: "b", format: .openai)
        b.failEvery(1, with: .hang(release: release))
        let config = ResilienceConfigs.twoTargets(routing: "").replacingOccurrences(of: "deadline: 30s", with: "deadline: 300ms")
        try await LiveGateway.run(vendors: [a, b], config: config) { gateway in
            let started = ContinuousClock.now
            let result = try await gateway.post("/v1/chat/completions", json: hello)
            let elapsed = ContinuousClock.now - started
            #expect(result.status == 504)
            #expect(result.json?["error"]?["type"] == "timeout_error")
            // Generous bound for a loaded machine; without the deadline this would take the 60 s first-byte timeout.
            #expect(elapsed < .seconds(20))
            release.open()
        }
    }
}

/// Collects routing events for assertions.
final class AlertRecorder: Sendable {
    private let recorded = Mutex<[RoutingObserver.Event]>([])
    var events: [RoutingObserver.Event] { recorded.withLock { $0 } }
    var record: @Sendable (RoutingObserver.Event) -> Void { { [self] event in recorded.withLock { $0.append(event) } } }
}
