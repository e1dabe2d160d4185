import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite("Errors from the HTTP layer come in the path's dialect")
struct HTTPLayerErrorTests {
    @Test func wrongMethodsAre405InTheDialectOfThePath() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let auth = ["authorization": "Bearer test-key"]
            let get = try await gateway.send(.GET, "/v1/chat/completions", headers: auth)
            #expect(get.status == 405)
            #expect(get.headers.first(name: "allow") == "POST")
            #expect(get.json?["error"]?["type"] == "invalid_request_error")
            let put = try await gateway.send(.PUT, "/v1/messages", body: "{}", headers: auth)
            #expect(put.status == 405)
            #expect(put.json?["type"] == "error")
            #expect(put.json?["error"]?["type"] == "invalid_request_error")
            let unknown = try await gateway.send(.POST, "/v1/messages/nothing", body: "{}", headers: auth)
            #expect(unknown.status == 404)
            #expect(unknown.json?["type"] == "error")
            #expect(unknown.json?["error"]?["type"] == "not_found_error")
            let deleteModels = try await gateway.send(.DELETE, "/v1/models", headers: auth)
            #expect(deleteModels.status == 405)
            #expect(deleteModels.headers.first(name: "allow") == "GET")
            #expect(vendor.requestCount == 0)
        }
    }

    @Test func bodiesOverTheLimitAre413NamingTheLimitWithOrWithoutContentLength() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let huge = String(repeating: "a", count: 70_000)
            let body = #"{"model":"smart","messages":[{"role":"user","content":"\#(huge)"}]}"#
            for path in ["/v1/chat/completions", "/v1/messages"] {
                let sized = try await gateway.send(.POST, path, body: body, headers: ["authorization": "Bearer test-key"])
                #expect(sized.status == 413)
                #expect(sized.body.contains("65536"))

                var chunked = HTTPClientRequest(url: gateway.baseURL + path)
                chunked.method = .POST
                chunked.headers.add(name: "authorization", value: "Bearer test-key")
                chunked.headers.add(name: "content-type", value: "application/json")
                let pieces = stride(from: 0, to: body.utf8.count, by: 8192).map { start in
                    ByteBuffer(bytes: Array(body.utf8)[start..<min(start + 8192, body.utf8.count)])
                }
                chunked.body = .stream(pieces.async, length: .unknown)
                let response = try await gateway.client.execute(chunked, timeout: .seconds(30))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                #expect(response.status.code == 413)
                #expect(text.contains("65536"))
                if path == "/v1/messages" { #expect(text.contains(#""type":"error""#)) }
            }
            #expect(vendor.requestCount == 0)
        }
    }

    @Test func invalidUTF8IsA400AndNeverForwarded() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer test-key")
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: Array(#"{"model":"smart","messages":[{"role":"user","content":"bad "#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)))
            let response = try await gateway.client.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status.code == 400)
            #expect(text.contains("UTF-8"))
            #expect(vendor.requestCount == 0)
        }
    }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence, for streamed request bodies.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
