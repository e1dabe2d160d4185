import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Synchronization
import Testing

/// OpenTelemetry tracing against an OTLP/HTTP receiver in the test (the gateway exports `http/json`, which
/// needs no generated protobuf code to read): the span tree of a request that failed over twice, its GenAI
/// attributes, and the trace context carried from the caller to the vendor.
@Suite("Tracing")
struct TracingTests {
    static let callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"

    static func config(telemetry: String) -> String {
        """
        listen: 127.0.0.1:0
        providers:
          first: {type: openai, base_url: "http://127.0.0.1:{{first}}/v1", keys: [sk-first-123456]}
          second: {type: openai, base_url: "http://127.0.0.1:{{second}}/v1", keys: [sk-second-123456]}
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
        models:
          resilient: {targets: [first/gpt-4o, second/gpt-4o-mini, claude/claude-sonnet-4-5]}
        routing: {attempts: 3, backoff: {base: 1ms, max: 2ms}, circuit_breaker: {failures: 5, cooldown: 30s}}
        keys:
          - {name: web, key: test-key}
        \(telemetry)
        """
    }

    static let overloaded = SimulatorScenario.error(status: 503, body: ["error": ["message": "busy", "type": "server_error", "param": .null, "code": .null]])

    @Test func aRequestThatFailedOverTwiceIsOneTraceWithASpanPerAttempt() async throws {
        let receiver = try await OTLPReceiver.start()
        let first = SimulatedVendor(name: "first", format: .openai)
        let second = SimulatedVendor(name: "second", format: .openai)
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        first.enqueue(Self.overloaded)
        second.enqueue(Self.overloaded)
        let telemetry = "telemetry: {otlp_endpoint: \"http://127.0.0.1:\(receiver.port)\", protocol: http/json, sampling: 1.0, service_name: switchyard-test}"
        try await LiveGateway.run(vendors: [first, second, claude], config: Self.config(telemetry: telemetry)) { gateway in
            let answer = try await gateway.post(
                "/v1/chat/completions", json: ["model": "resilient", "messages": [["role": "user", "content": "hi"]]],
                headers: ["traceparent": "00-\(Self.callerTrace)-\(Self.callerSpan)-01"])
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")
            let spans = await receiver.spans(atLeast: 4)
            #expect(Set(spans.map(\.traceID)) == [Self.callerTrace], "one trace, the caller's")
            let server = try #require(spans.first { $0.kind == 2 })
            #expect(server.parentSpanID == Self.callerSpan)
            #expect(server.name == "chat resilient")
            #expect(server.attributes["gen_ai.operation.name"] == "chat")
            #expect(server.attributes["gen_ai.request.model"] == "resilient")
            #expect(server.attributes["gen_ai.response.model"] != nil)
            #expect(server.attributes["gen_ai.usage.input_tokens"] != nil && server.attributes["gen_ai.usage.output_tokens"] != nil)
            #expect(server.attributes["http.response.status_code"] == "200")

            let attempts = spans.filter { $0.kind == 3 }
            #expect(attempts.count == 3)
            #expect(attempts.allSatisfy { $0.parentSpanID == server.spanID })
            let byModel = Dictionary(uniqueKeysWithValues: attempts.map { ($0.attributes["gen_ai.request.model"] ?? "", $0) })
            #expect(byModel["gpt-4o"]?.attributes["error.type"] == "overloaded")
            #expect(byModel["gpt-4o"]?.attributes["gen_ai.provider.name"] == "openai")
            #expect(byModel["gpt-4o-mini"]?.attributes["error.type"] == "overloaded")
            let answered = try #require(byModel["claude-sonnet-4-5"])
            #expect(answered.attributes["error.type"] == nil)
            #expect(answered.attributes["gen_ai.provider.name"] == "anthropic")
            #expect(answered.attributes["gen_ai.operation.name"] == "chat")

            // Each vendor got the trace context of the attempt that called it.
            for (vendor, model) in [(first, "gpt-4o"), (second, "gpt-4o-mini"), (claude, "claude-sonnet-4-5")] {
                let traceparent = try #require(vendor.requests.last?.headers["traceparent"])
                #expect(traceparent == "00-\(Self.callerTrace)-\(byModel[model]?.spanID ?? "-")-01", "\(model)")
            }
            #expect(receiver.serviceNames.contains("switchyard-test"))
        }
        await receiver.stop()
    }

    @Test func withTracingOffNothingIsPropagated() async throws {
        let first = SimulatedVendor(name: "first", format: .openai)
        let second = SimulatedVendor(name: "second", format: .openai)
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        try await LiveGateway.run(vendors: [first, second, claude], config: Self.config(telemetry: "")) { gateway in
            _ = try await gateway.post(
                "/v1/chat/completions", json: ["model": "resilient", "messages": [["role": "user", "content": "hi"]]],
                headers: ["traceparent": "00-\(Self.callerTrace)-\(Self.callerSpan)-01"])
            #expect(first.requests.last?.headers["traceparent"] == nil)
        }
    }

    @Test func grpcExportIsRefusedWithAReason() throws {
        let yaml = Self.config(telemetry: "telemetry: {otlp_endpoint: \"http://127.0.0.1:4317\", protocol: grpc}")
            .replacingOccurrences(of: "{{first}}", with: "1").replacingOccurrences(of: "{{second}}", with: "1").replacingOccurrences(of: "{{claude}}", with: "1")
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(yaml) }
        do {
            _ = try ConfigLoader.parse(yaml)
        } catch {
            #expect(error.description.contains("http/protobuf"))
        }
    }
}

/// An OTLP/HTTP+JSON trace receiver on 127.0.0.1.
final class OTLPReceiver: Sendable {
    struct Span: Sendable {
        let traceID: String
        let spanID: String
        let parentSpanID: String
        let name: String
        let kind: Int
        let attributes: [String: String]
    }

    let port: Int
    private let received = Mutex<(spans: [Span], services: Set<String>, waiters: [(Int, CheckedContinuation<[Span], Never>)])>(([], [], []))
    private let task: Task<Void, any Error>

    private init(port: Int, task: Task<Void, any Error>, received: Void) {
        self.port = port
        self.task = task
    }

    static func start() async throws -> OTLPReceiver {
        let box = ReceiverBox()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            if let json = try? JSONParser.parse(body.readableBytesView) { box.receiver?.accept(json) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { portSink.yield($0.localAddress!.port!) })
        let task = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("the OTLP receiver did not start") }
        let receiver = OTLPReceiver(port: port, task: task, received: ())
        box.receiver = receiver
        return receiver
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    var serviceNames: Set<String> { received.withLock { $0.services } }

    /// Waits until at least `count` spans arrived.
    func spans(atLeast count: Int) async -> [Span] {
        await withCheckedContinuation { continuation in
            let ready: [Span]? = received.withLock { state in
                if state.spans.count >= count { return state.spans }
                state.waiters.append((count, continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    fileprivate func accept(_ json: JSONValue) {
        var spans: [Span] = []
        var services: Set<String> = []
        for resourceSpans in json["resourceSpans"]?.arrayValue ?? [] {
            for attribute in resourceSpans["resource"]?["attributes"]?.arrayValue ?? [] where attribute["key"]?.stringValue == "service.name" {
                if let name = attribute["value"]?["stringValue"]?.stringValue { services.insert(name) }
            }
            for scope in resourceSpans["scopeSpans"]?.arrayValue ?? [] {
                for span in scope["spans"]?.arrayValue ?? [] {
                    var attributes: [String: String] = [:]
                    for attribute in span["attributes"]?.arrayValue ?? [] {
                        guard let key = attribute["key"]?.stringValue, let value = attribute["value"] else { continue }
                        attributes[key] = Self.text(of: value)
                    }
                    spans.append(
                        Span(
                            traceID: Self.hex(span["traceId"]?.stringValue), spanID: Self.hex(span["spanId"]?.stringValue),
                            parentSpanID: Self.hex(span["parentSpanId"]?.stringValue), name: span["name"]?.stringValue ?? "",
                            kind: span["kind"]?.intValue ?? Self.kind(span["kind"]?.stringValue), attributes: attributes))
                }
            }
        }
        let ready: [(CheckedContinuation<[Span], Never>, [Span])] = received.withLock { state in
            state.spans += spans
            state.services.formUnion(services)
            let all = state.spans
            let done = state.waiters.filter { all.count >= $0.0 }
            state.waiters.removeAll { all.count >= $0.0 }
            return done.map { ($0.1, all) }
        }
        for (continuation, all) in ready { continuation.resume(returning: all) }
    }

    /// Ids as lowercase hex, whether the exporter wrote hex (the OTLP JSON rule) or base64 (protobuf JSON's).
    static func hex(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    static func text(of value: JSONValue) -> String? {
        if let text = value["stringValue"]?.stringValue { return text }
        if let integer = value["intValue"] { return integer.stringValue ?? integer.intValue.map(String.init) }
        if let flag = value["boolValue"]?.boolValue { return String(flag) }
        if let number = value["doubleValue"]?.doubleValue { return String(number) }
        return nil
    }

    static func kind(_ name: String?) -> Int {
        switch name {
        case "SPAN_KIND_INTERNAL": 1
        case "SPAN_KIND_SERVER": 2
        case "SPAN_KIND_CLIENT": 3
        default: 0
        }
    }
}

private final class ReceiverBox: @unchecked Sendable {
    // Set once before the receiver's address is handed out; read by the route afterwards.
    var receiver: OTLPReceiver?
}
