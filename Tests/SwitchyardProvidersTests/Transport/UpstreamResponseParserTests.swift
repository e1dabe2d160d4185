import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing

@testable import SwitchyardProviders

/// The upstream response parser against NIO's response decoder, which it replaced: for thousands of
/// generated responses (every framing, interim heads, answers to HEAD), fed whole and in random pieces, it
/// reads what NIO reads; and it refuses responses two readers could frame two ways.
@Suite("HTTP/1 upstream response parser")
struct UpstreamResponseParserTests {
    struct Response: Equatable {
        var status: Int
        var fields: [String]
        var body: [UInt8]
    }

    struct Reading: Equatable, CustomStringConvertible {
        var responses: [Response] = []
        var failed = false
        /// How many bytes the responses read took (the gateway's reading only).
        var consumed = 0
        static func == (lhs: Reading, rhs: Reading) -> Bool { lhs.responses == rhs.responses && lhs.failed == rhs.failed }
        var description: String { "\(responses.map { "\($0.status) \($0.fields) body \($0.body.count)" }) failed: \(failed)" }
    }

    static func trimmed(_ value: String) -> String {
        String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// NIO's reading of `bytes` as the answers to requests with `methods`; `closes` ends the connection after.
    static func readWithNIO(_ bytes: [UInt8], methods: [HTTPMethod], closes: Bool) -> Reading {
        let channel = EmbeddedChannel()
        try! channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .fireError)))
        for method in methods {
            try! channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/")))
            try! channel.writeOutbound(HTTPClientRequestPart.end(nil))
        }
        var reading = Reading()
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            if closes { _ = try channel.finish() }
        } catch {
            reading.failed = true
        }
        var current: Response?
        while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let head):
                guard head.status.code >= 200 else { continue }
                current = Response(status: Int(head.status.code), fields: head.headers.map { "\($0.name.lowercased()): \(Self.trimmed($0.value))" }, body: [])
            case .body(let buffer):
                current?.body += buffer.readableBytesView
            case .end:
                if let current { reading.responses.append(current) }
                current = nil
            }
        }
        if !closes { _ = try? channel.finish() }
        return reading
    }

    static func readWithGateway(_ bytes: [UInt8], methods: [HTTPMethod], closes: Bool, cuts: [Int] = []) -> Reading {
        var parser = UpstreamResponseParser()
        var reading = Reading()
        var current: Response?
        var unread = ByteBuffer()
        var fed = 0
        func take(_ part: UpstreamResponseParser.Part) {
            switch part {
            case .head(let head, _):
                current = Response(status: head.status, fields: head.headers.map { "\($0.name.lowercased()): \($0.value)" }, body: [])
            case .body(let buffer):
                current?.body += buffer.readableBytesView
            case .end:
                if let current { reading.responses.append(current) }
                current = nil
                reading.consumed = fed - unread.readableBytes
            }
        }
        for piece in bytes.pieces(endingAt: cuts) {
            unread.writeBytes(piece)
            fed += piece.count
            while true {
                let answersHEAD = methods.indices.contains(reading.responses.count) && methods[reading.responses.count] == .HEAD
                let part: UpstreamResponseParser.Part?
                do {
                    part = unread.readableBytes > 0 ? try parser.next(&unread, answersHEAD: answersHEAD) : parser.endOfCompleteBody()
                } catch {
                    reading.failed = true
                    return reading
                }
                guard let part else { break }
                take(part)
            }
        }
        if closes, parser.endsAtClose() { take(.end) }
        return reading
    }

    // MARK: Generated responses

    static let statuses = [200, 201, 204, 304, 400, 404, 429, 500, 503]
    static let names = ["Content-Type", "date", "Server", "x-request-id", "Retry-After", "X-Odd!#$%&'*+.^_`|~", "a"]
    static let values = ["application/json", "Tue, 01 Dec 2026 10:00:00 GMT", "", "two  spaces", "tab\there", "caf\u{e9}", "x,y , z"]

    struct Generator {
        var random: SplitMix64

        mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }
        mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

        /// A response to `method`; `last` allows a body ended by the close.
        mutating func response(to method: HTTPMethod, last: Bool) -> [UInt8] {
            var text = ""
            if chance(10) { text += "HTTP/1.1 100 Continue\r\n\r\n" }
            if chance(5) { text += "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" }
            let status = pick(UpstreamResponseParserTests.statuses)
            text += "HTTP/1.1 \(status) \(pick(["OK", "Some Reason", ""]))\r\n"
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                let whitespace = pick(["", " ", "\t", "  "])
                text += "\(pick(UpstreamResponseParserTests.names)):\(whitespace)\(pick(UpstreamResponseParserTests.values))\(pick(["", " ", "\t"]))\r\n"
            }
            let hasBody = method != .HEAD && status != 204 && status != 304
            let body = hasBody ? Array(String(repeating: pick(["{}", "data: x\n\n", "\u{e9}\r\n"]), count: Int.random(in: 0...30, using: &random)).utf8) : []
            var bytes = Array(text.utf8)
            switch Int.random(in: 0..<(last ? 3 : 2), using: &random) {
            case 0:
                // An answer to HEAD states the length it would have had.
                let length = hasBody ? body.count : (method == .HEAD ? Int.random(in: 0...99, using: &random) : 0)
                bytes += Array("Content-Length: \(length)\r\n\r\n".utf8) + body
            case 1:
                bytes += Array("Transfer-Encoding: \(pick(["chunked", "Chunked", "gzip, chunked"]))\r\n\r\n".utf8)
                guard hasBody else { break }
                var rest = body[...]
                while !rest.isEmpty {
                    let size = min(rest.count, Int.random(in: 1...13, using: &random))
                    bytes += Array("\(String(size, radix: 16))\(chance(10) ? ";x=y" : "")\r\n".utf8) + rest.prefix(size) + Array("\r\n".utf8)
                    rest = rest.dropFirst(size)
                }
                bytes += Array("0\r\n\(chance(20) ? "X-Checksum: 1\r\n" : "")\r\n".utf8)
            default:
                bytes += Array("Connection: close\r\n\r\n".utf8) + body
            }
            return bytes
        }
    }

    @Test func wellFormedResponsesReadAsNIOReadsThem() async {
        var generator = Generator(random: SplitMix64(seed: 0x5245_5350))
        for round in 0..<3_000 {
            if round % 10 == 0 { await Task.yield() }
            let count = Int.random(in: 1...3, using: &generator.random)
            let methods = (0..<count).map { _ in generator.chance(15) ? HTTPMethod.HEAD : .POST }
            var bytes: [UInt8] = []
            for (index, method) in methods.enumerated() { bytes += generator.response(to: method, last: index == count - 1) }
            let closes = generator.chance(30) || String(decoding: bytes, as: UTF8.self).contains("Connection: close")
            let nio = Self.readWithNIO(bytes, methods: methods, closes: closes)
            #expect(!nio.failed && nio.responses.count == count, "NIO: \(nio) for \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            let whole = Self.readWithGateway(bytes, methods: methods, closes: closes)
            #expect(whole == nio, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            let cuts = (0..<Int.random(in: 1...6, using: &generator.random)).map { _ in Int.random(in: 0...bytes.count, using: &generator.random) }
            let pieces = Self.readWithGateway(bytes, methods: methods, closes: closes, cuts: cuts)
            #expect(pieces == nio, "cut at \(cuts): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if whole != nio || pieces != nio { return }
        }
    }

    /// Well-formed answers with random bytes flipped, inserted or dropped: never a crash, and whatever the
    /// gateway reads as an answer, NIO reads the same way.
    @Test func mutatedResponsesAreNeverReadDifferentlyFromNIO() async {
        var generator = Generator(random: SplitMix64(seed: 0x4D52_4553))
        var accepted = 0
        for round in 0..<3_000 {
            if round % 10 == 0 { await Task.yield() }
            var bytes = generator.response(to: .POST, last: false)
            ByteMutation.mutate(&bytes, using: &generator.random)
            let ours = Self.readWithGateway(bytes, methods: [.POST], closes: false)
            let cuts = (0..<3).map { _ in Int.random(in: 0...bytes.count, using: &generator.random) }
            #expect(Self.readWithGateway(bytes, methods: [.POST], closes: false, cuts: cuts) == ours, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            guard !ours.responses.isEmpty else { continue }
            accepted += 1
            // NIO reads the bytes the gateway's answers took the same way (it drops what it read of a buffer
            // that then fails, where the gateway has the answers before the garbage).
            let nio = Self.readWithNIO(Array(bytes[..<ours.consumed]), methods: [.POST], closes: false)
            #expect(nio.responses == ours.responses, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        #expect(accepted > 500)
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Space : a\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Nul: a\u{0}b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\t\r\nab\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;e xt\r\nab\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=\"open\r\nab\r\n0\r\n\r\n",
    ])
    func responsesTwoReadersCouldFrameDifferentlyAreRefused(_ text: String) {
        let reading = Self.readWithGateway(Array(text.utf8), methods: [.POST], closes: false)
        #expect(reading.failed, "\(text.debugDescription): \(reading)")
    }

    @Test func aHeadOverTheLimitIsRefusedBeforeItAllArrives() {
        var parser = UpstreamResponseParser()
        var bytes = ByteBuffer(string: "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: UpstreamResponseParser.maxHeadBytes))
        #expect(throws: HTTP1SyntaxError.self) { try parser.next(&bytes, answersHEAD: false) }
    }

    @Test func keepAliveFollowsTheVersionTheConnectionFieldAndTheFraming() throws {
        let cases: [(String, Bool)] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\n\r\n", false),
        ]
        for (text, keepsAlive) in cases {
            var parser = UpstreamResponseParser()
            var bytes = ByteBuffer(string: text)
            guard case .head(_, let parsed)? = try parser.next(&bytes, answersHEAD: false) else {
                Issue.record("no head in \(text.debugDescription)")
                continue
            }
            #expect(parsed == keepsAlive, "\(text.debugDescription)")
        }
    }
}
