import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("Errors in the caller's dialect")
struct ErrorHandlingTests {
    @Test func badInputGetsClearErrors() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let auth = ["authorization": "Bearer test-key"]
            let malformed = try await gateway.send(.POST, "/v1/chat/completions", body: #"{"model": "smart", "messages": ["#, headers: auth)
            #expect(malformed.status == 400)
            #expect(malformed.json?["error"]?["type"] == "invalid_request_error")
            #expect(malformed.json?["error"]?["message"]?.stringValue?.contains("not valid JSON") == true)
            #expect(malformed.headers.first(name: "x-request-id") != nil)

            let missingRole = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["content": "hi"]]])
            #expect(missingRole.status == 400)
            #expect(missingRole.json?["error"]?["param"] == "messages[0].role")

            let wrongType = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": "hi"]], "temperature": "hot"])
            #expect(wrongType.status == 400)
            #expect(wrongType.json?["error"]?["param"] == "temperature")
            #expect(wrongType.json?["error"]?["message"]?.stringValue?.contains("expected a number") == true)

            let outOfRange = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": "hi"]], "temperature": 7])
            #expect(outOfRange.status == 400)

            let unknownModel = try await gateway.post("/v1/chat/completions", json: ["model": "nope", "messages": [["role": "user", "content": "hi"]]])
            #expect(unknownModel.status == 404)
            #expect(unknownModel.json?["error"]?["code"] == "model_not_found")

            let missingKey = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": "hi"]]], key: nil)
            #expect(missingKey.status == 401)
            let wrongKey = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": "hi"]]], key: "wrong")
            #expect(wrongKey.status == 401)
            #expect(wrongKey.json?["error"]?["type"] == "authentication_error")

            let huge = String(repeating: "a", count: 70_000)
            let tooLarge = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": .string(huge)]]])
            #expect(tooLarge.status == 413)
            #expect(tooLarge.json?["error"]?["code"] == "request_too_large")

            let unknownPath = try await gateway.send(.GET, "/v1/nothing-here", headers: auth)
            #expect(unknownPath.status == 404)
            #expect(unknownPath.json?["error"] != nil)

            // None of the bad requests reached the provider.
            #expect(vendor.requests.isEmpty)
        }
    }

    @Test func upstreamErrorsAreNormalisedWithoutLeakingSecrets() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        vendor.enqueue(.error(status: 400, body: try Fixtures.json("openai/error_context_length_400.json")))
        vendor.enqueue(.error(status: 400, body: ["error": ["message": "Invalid value for 'foo': sk-upstream-secret-1 is wrong", "type": "invalid_request_error", "param": .null, "code": .null]]))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let request: JSONValue = ["model": "smart", "messages": [["role": "user", "content": "hi"]]]
            let tooLong = try await gateway.post("/v1/chat/completions", json: request)
            #expect(tooLong.status == 400)
            #expect(tooLong.json?["error"]?["code"] == "context_length_exceeded")
            #expect(tooLong.headers.first(name: "x-switchyard-attempts") == "1")

            let invalid = try await gateway.post("/v1/chat/completions", json: request)
            #expect(invalid.status == 400)
            #expect(!invalid.body.contains("sk-upstream-secret-1"))
            // Invalid requests are not retried.
            #expect(vendor.requests.count == 2)
        }
    }

    @Test func theProcessSurvivesGarbageAndThenServes() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "still alive"))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let auth = ["authorization": "Bearer test-key"]
            let bodies: [String] = [
                "", "null", "[]", "42", "\"text\"", "{", "}", "{\"model\":", "{\"model\": 5, \"messages\": []}",
                "{\"model\": \"smart\"}", "{\"model\": \"smart\", \"messages\": {}}", "{\"model\": \"smart\", \"messages\": [1, 2]}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"ftp://x\"}}]}]}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"n\": -1}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\"}]}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": [1]}",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}], \"stream\": \"yes\"}",
                String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 5000),
                "\u{0}\u{1}\u{2}binary", "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]} trailing",
                "{\"model\": \"smart\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 1e400}",
            ]
            for body in bodies {
                let result = try await gateway.send(.POST, "/v1/chat/completions", body: body, headers: auth)
                #expect((400..<500).contains(result.status), "body \(body.prefix(60)) gave \(result.status)")
                #expect(result.json?["error"]?["message"] != nil)
                let anthropic = try await gateway.send(.POST, "/v1/messages", body: body, headers: ["x-api-key": "test-key"])
                #expect((400..<500).contains(anthropic.status))
                #expect(anthropic.json?["type"] == "error")
            }
            let embeddings = try await gateway.send(.POST, "/v1/embeddings", body: "{\"model\": \"embed\", \"input\": [{}]}", headers: auth)
            #expect(embeddings.status == 400)
            #expect(vendor.requests.isEmpty)
            let good = try await gateway.post("/v1/chat/completions", json: ["model": "smart", "messages": [["role": "user", "content": "hi"]]])
            #expect(good.status == 200)
            #expect(good.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "still alive")
        }
    }

    /// Opens a stream from a client of its own, reads its first piece, then drops the connection.
    static func startStreamThenHangUp(_ gateway: LiveGateway.Context) async throws {
        let request: JSONValue = ["model": "smart", "stream": true, "messages": [["role": "user", "content": "talk"]]]
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var outgoing = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
        outgoing.method = .POST
        outgoing.headers.add(name: "authorization", value: "Bearer test-key")
        outgoing.body = .bytes(ByteBuffer(string: request.jsonString))
        let response = try await client.execute(outgoing, timeout: .seconds(30))
        var body = response.body.makeAsyncIterator()
        _ = try await body.next()
        try await client.shutdown()
    }

    /// The same while the upstream is silent mid-stream (a model thinking): no write fails to tell the
    /// gateway, so the client's going away must cancel the stream itself, whichever task writes it.
    @Test func clientDisconnectCancelsASilentUpstreamStream() async throws {
        let silence = SimulatorGate()
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "one two", holdBeforeFinish: silence))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            try await Self.startStreamThenHangUp(gateway)
            // Cancelled, the stream ends and is logged at once; without cancellation it would wait out the
            // provider's read timeout (the vendor, blocked on its gate, cannot tell either way).
            let log = try #require(gateway.gateway.requestLog)
            try await withTestTimeout(.seconds(10)) { await log.waitUntilRecorded(1) }
            #expect(gateway.gateway.table.allTargets.first?.inFlight == 0)
            silence.open()
        }
    }

    @Test func clientDisconnectCancelsTheUpstreamStream() async throws {
        let vendor = SimulatedVendor(
            name: "oai", format: .openai,
            defaultReply: SimulatedReply(text: Array(repeating: "word", count: 2000).joined(separator: " "), chunkInterval: .milliseconds(2)))
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            var events = vendor.events.makeAsyncIterator()
            try await Self.startStreamThenHangUp(gateway)
            // The upstream notices: its stream is cancelled long before its 2,000 words are sent.
            while let event = await events.next() {
                if event == .streamCancelled { break }
                #expect(event != .streamCompleted)
            }
        }
    }
}
