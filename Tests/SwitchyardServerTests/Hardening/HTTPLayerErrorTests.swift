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

    /// Bytes the listener cannot read as a request are refused with a status that says why, then the
    /// connection closes; nothing reaches a provider. A chunked upload (with an extension and a trailer) is
    /// read whole.
    @Test func unreadableRequestsAreRefusedWithTheirStatusAndChunkedUploadsAreRead() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let refused: [(String, String)] = [
                ("POST /v1/chat/completions HTTP/1.1\r\nhost: g\r\nX-Big: \(String(repeating: "a", count: 90_000))\r\n\r\n", "431"),
                ("POST /v1/chat/completions HTTP/1.1\r\nhost: g\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"),
                ("POST /v1/chat/completions HTTP/3.0\r\nhost: g\r\n\r\n", "505"),
                ("POST /v1/chat/completions HTTP/1.1\r\nhost: g\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
                ("POST /v1/chat/completions HTTP/1.1\nhost: g\n\n", "400"),
            ]
            for (request, status) in refused {
                let connection = try await RawConnection.open(port: gateway.port)
                try await connection.send(request)
                let answer = try await connection.readToEnd()
                #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(60).debugDescription): \(answer)")
                #expect(answer.lowercased().contains("connection: close"))
            }
            #expect(vendor.requestCount == 0)

            let body = #"{"model":"smart","messages":[{"role":"user","content":"hello"}]}"#
            let half = body.utf8.count / 2
            let pieces = [String(body.utf8.prefix(half))!, String(body.utf8.dropFirst(half))!]
            var chunked = "POST /v1/chat/completions HTTP/1.1\r\nhost: g\r\nauthorization: Bearer test-key\r\ncontent-type: application/json\r\n"
            chunked += "transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            chunked += "\(String(pieces[0].utf8.count, radix: 16));note=1\r\n\(pieces[0])\r\n\(String(pieces[1].utf8.count, radix: 16))\r\n\(pieces[1])\r\n0\r\nx-trailer: y\r\n\r\n"
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(chunked)
            let answer = try await connection.readToEnd()
            #expect(answer.hasPrefix("HTTP/1.1 200 OK"), "\(answer)")
            #expect(answer.contains(#""object":"chat.completion""#))
            #expect(vendor.requestCount == 1)
        }
    }

    /// A client that sends `Expect: 100-continue` waits for the interim answer before its body (curl does for
    /// large bodies; without the answer it waits a second, then sends anyway). One refused before its body
    /// gets its 413 and the connection closes, since the body may never come.
    @Test func aRequestExpectingContinueIsToldToGoOnOrRefusedAndClosed() async throws {
        let vendor = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [vendor], config: TestConfigs.openAI()) { gateway in
            let body = #"{"model":"smart","messages":[{"role":"user","content":"hello"}]}"#
            let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: g\r\nauthorization: Bearer test-key\r\ncontent-type: application/json\r\n"
            let connection = try await RawConnection.open(port: gateway.port)
            try await connection.send(head + "expect: 100-Continue\r\ncontent-length: \(body.utf8.count)\r\n\r\n")
            let interim = try await withTestTimeout(.seconds(10)) { try await connection.readUntil("HTTP/1.1 100 Continue\r\n\r\n") }
            #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
            try await connection.send(body)
            let answer = try await withTestTimeout(.seconds(10)) { try await connection.readUntil(#""object":"chat.completion""#) }
            #expect(answer.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"), "\(answer)")
            try await connection.close()

            let refused = try await RawConnection.open(port: gateway.port)
            try await refused.send(head + "expect: 100-continue\r\ncontent-length: 900000\r\n\r\n")
            let text = try await refused.readToEnd()
            #expect(text.hasPrefix("HTTP/1.1 413 "), "\(text)")
            #expect(!text.contains("100 Continue"))
            #expect(vendor.requestCount == 1)
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
