import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing

@testable import SwitchyardServer

/// The gateway's own HTTP/1 request parser against NIO's (llhttp), which it replaced on the listener: for
/// thousands of generated requests, fed whole and in random pieces, it must read what NIO reads, and it
/// must never accept bytes that NIO reads differently or refuses (two parsers that disagree on where a
/// request ends are how requests get smuggled).
@Suite("HTTP/1 request parser")
struct HTTP1RequestParserTests {
    /// What a parser made of a byte stream: the requests it read, and whether it then failed.
    struct Reading: Equatable, CustomStringConvertible {
        struct Request: Equatable {
            var method: String
            var target: String
            var isHTTP10: Bool
            var fields: [String]
            var body: [UInt8]
        }
        var requests: [Request] = []
        var failed = false
        /// How many bytes the requests read took (the gateway's reading only).
        var consumed = 0
        static func == (lhs: Reading, rhs: Reading) -> Bool { lhs.requests == rhs.requests && lhs.failed == rhs.failed }
        var description: String { "\(requests.map { "\($0.method) \($0.target) \($0.fields) body \($0.body.count)" }) failed: \(failed)" }
    }

    static func readWithNIO(_ bytes: [UInt8]) -> Reading {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        defer { _ = try? channel.finish() }
        var reading = Reading()
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            reading.failed = true
        }
        var current: Reading.Request?
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                // As the server made it a request before: the first Host is the authority, values trimmed.
                guard let request = try? HTTP1RequestConversion.request(head) else {
                    reading.failed = true
                    return reading
                }
                current = Reading.Request(
                    method: head.method.rawValue, target: head.uri, isHTTP10: head.version == .http1_0,
                    fields: Self.fields(authority: request.authority, request.headerFields), body: [])
            case .body(let buffer):
                current?.body += buffer.readableBytesView
            case .end:
                if let current { reading.requests.append(current) }
                current = nil
            }
        }
        return reading
    }

    /// Reads with ``HTTP1RequestParser``, the bytes arriving in pieces that end at `cuts`.
    static func readWithGateway(_ bytes: [UInt8], cuts: [Int] = []) -> Reading {
        var parser = HTTP1RequestParser()
        var reading = Reading()
        var current: Reading.Request?
        var unread = ByteBuffer()
        var fed = 0
        for piece in bytes.pieces(endingAt: cuts) {
            unread.writeBytes(piece)
            fed += piece.count
            while true {
                let part: HTTP1RequestParser.Part?
                do {
                    part = unread.readableBytes > 0 ? try parser.next(&unread) : parser.endOfCompleteBody()
                } catch {
                    reading.failed = true
                    return reading
                }
                guard let part else { break }
                switch part {
                case .head(let head):
                    current = Reading.Request(
                        method: head.method.rawValue, target: head.target, isHTTP10: head.isHTTP10,
                        fields: Self.fields(authority: head.authority, head.fields), body: [])
                case .body(let buffer):
                    current?.body += buffer.readableBytesView
                case .end:
                    if let current { reading.requests.append(current) }
                    current = nil
                    reading.consumed = fed - unread.readableBytes
                }
            }
        }
        return reading
    }

    static func fields(authority: String?, _ fields: HTTPFields) -> [String] {
        (authority.map { ["host: \($0)"] } ?? []) + fields.map { "\($0.name.canonicalName): \($0.value)" }
    }

    // MARK: Generated requests

    /// llhttp knows a fixed list of methods; the gateway reads any token (and its router answers 405).
    static let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
    static let targets = ["/v1/chat/completions", "/v1/messages?beta=true", "/", "/a%20b?x=1&y=%7E", "//double", "/~user/!$&'()*+,;=:@"]
    static let names = ["content-type", "Authorization", "X-Api-Key", "x-stainless-lang", "Accept", "User-Agent", "X-Odd!#$%&'*+.^_`|~", "a"]
    static let values = ["application/json", "Bearer sk-1234", "", "two  spaces", "tab\there", "caf\u{e9} (UTF-8)", "x,y , z", "gzip, br"]

    struct Generator {
        var random: SplitMix64

        mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }
        mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

        /// One well-formed request; `framing` says how its body is delimited.
        mutating func request(last: Bool = true) -> [UInt8] {
            // llhttp refuses bytes after an HTTP/1.0 request (its connection ends with the answer), as the
            // gateway does in effect: it closes the connection once a 1.0 request is answered.
            let isHTTP10 = last && chance(15)
            var text = chance(5) ? "\r\n" : ""
            text += "\(pick(HTTP1RequestParserTests.methods)) \(pick(HTTP1RequestParserTests.targets)) HTTP/1.\(isHTTP10 ? 0 : 1)\r\n"
            let fieldCount = Int.random(in: 0...6, using: &random)
            // At most one Host (two are refused), anywhere among the fields.
            let hostPosition = chance(80) ? Int.random(in: 0...fieldCount, using: &random) : nil
            for position in 0...fieldCount {
                if position == hostPosition { text += "\(pick(["Host", "host", "HOST"])):\(pick(["", " "]))\(pick(["gateway", "127.0.0.1:4000", ""]))\r\n" }
                guard position < fieldCount else { break }
                let whitespace = pick(["", " ", "  ", "\t", " \t"])
                text += "\(pick(HTTP1RequestParserTests.names)):\(whitespace)\(pick(HTTP1RequestParserTests.values))\(pick(["", " ", "\t"]))\r\n"
            }
            let body = Array(String(repeating: pick(["{}", "abc", "\u{e9}\r\n", "0\r\n\r\n"]), count: Int.random(in: 0...40, using: &random)).utf8)
            var bytes = Array(text.utf8)
            switch isHTTP10 ? 0 : Int.random(in: 0..<3, using: &random) {
            case 0 where body.isEmpty && chance(50):
                bytes += Array("\r\n".utf8)
            case 0, 1:
                bytes += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
            default:
                bytes += Array("Transfer-Encoding: \(pick(["chunked", "Chunked", " chunked ", ", chunked"]))\r\n\r\n".utf8)
                var rest = body[...]
                while !rest.isEmpty {
                    let size = min(rest.count, Int.random(in: 1...17, using: &random))
                    let hex = String(size, radix: 16, uppercase: chance(50))
                    bytes += Array("\(chance(20) ? "0" : "")\(hex)\(chance(15) ? ";ext=1" : "")\r\n".utf8) + rest.prefix(size) + Array("\r\n".utf8)
                    rest = rest.dropFirst(size)
                }
                bytes += Array("0\r\n\(chance(20) ? "Trailer-Field: x\r\n" : "")\r\n".utf8)
            }
            return bytes
        }

        /// A request with one defect: each is a way two parsers may disagree, or bytes no request has.
        mutating func defective() -> [UInt8] {
            var text = String(decoding: request(), as: UTF8.self)
            let head = text.range(of: "\r\n\r\n")!
            let defects: [(String) -> String] = [
                { $0.replacingOccurrences(of: "\r\n", with: "\n") },
                { $0.replacingOccurrences(of: "HTTP/1.", with: "HTTP/2.") },
                { $0.replacingOccurrences(of: "HTTP/1.", with: "http/1.") },
                { $0.replacingOccurrences(of: " HTTP/1.", with: "  HTTP/1.") },
                { "POST /a b HTTP/1.1\r\n" + $0.split(separator: "\r\n", maxSplits: 1)[1] },
                { $0.replacingCharacters(in: head, with: "\r\nX-Folded: a\r\n b\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nX-Space : a\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nX-Nul: a\u{0}b\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nX-Cr: a\rb\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nX-Del: a\u{7f}\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab") },
                { $0.replacingCharacters(in: head, with: "\r\nContent-Length: -1\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nContent-Length: 1 2\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nContent-Length: 0x10\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\n: empty name\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nX-Ok: a\r\nno colon\r\n\r\n") },
                { "GET\u{0}/ HTTP/1.1\r\n\r\n" + $0 },
                { "POST v1/relative HTTP/1.1\r\n" + $0.split(separator: "\r\n", maxSplits: 1)[1] },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\n\r\n3\t\r\nabc\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nTransfer-Encoding: chunked\r\n\r\n3;e xt\r\nabc\r\n0\r\n\r\n") },
                { $0.replacingCharacters(in: head, with: "\r\nHost: a\r\nHost: b\r\n\r\n") },
            ]
            text = pick(defects)(text)
            return Array(text.utf8)
        }
    }

    /// Well-formed streams of one to three pipelined requests: read the same by both parsers, whole and in
    /// pieces cut at random.
    @Test func wellFormedRequestsReadAsNIOReadsThem() async {
        var generator = Generator(random: SplitMix64(seed: 0x4854_5450))
        for round in 0..<3_000 {
            if round % 10 == 0 { await Task.yield() }
            var bytes: [UInt8] = []
            let count = Int.random(in: 1...3, using: &generator.random)
            for index in 0..<count { bytes += generator.request(last: index == count - 1) }
            let nio = Self.readWithNIO(bytes)
            #expect(!nio.failed, "NIO refuses a request the generator means as well-formed: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            let whole = Self.readWithGateway(bytes)
            #expect(whole == nio, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            let cuts = (0..<Int.random(in: 1...6, using: &generator.random)).map { _ in Int.random(in: 0...bytes.count, using: &generator.random) }
            let pieces = Self.readWithGateway(bytes, cuts: cuts)
            #expect(pieces == nio, "cut at \(cuts): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if whole != nio || pieces != nio { return }
        }
    }

    /// Requests with one defect each: the gateway refuses them all, and it never accepts a stream that NIO
    /// reads differently (it may refuse what NIO tolerates).
    @Test func defectiveRequestsAreRefusedAndNeverReadDifferently() async {
        var generator = Generator(random: SplitMix64(seed: 0x534D_5547))
        for round in 0..<3_000 {
            if round % 10 == 0 { await Task.yield() }
            let bytes = generator.defective()
            let ours = Self.readWithGateway(bytes)
            #expect(ours.failed, "accepted: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            let nio = Self.readWithNIO(bytes)
            // Whatever the gateway read before refusing, NIO read the same way.
            #expect(Array(nio.requests.prefix(ours.requests.count)) == ours.requests, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if !ours.failed { return }
        }
    }

    /// Well-formed streams with random bytes flipped, inserted or dropped (CR, LF, NUL, colons, spaces, high
    /// bytes among them): never a crash, and whatever the gateway accepts, NIO reads the same way.
    @Test func mutatedRequestsAreNeverReadDifferentlyFromNIO() async {
        var generator = Generator(random: SplitMix64(seed: 0x4D55_5441))
        var accepted = 0
        for round in 0..<3_000 {
            if round % 10 == 0 { await Task.yield() }
            var bytes = generator.request(last: true)
            ByteMutation.mutate(&bytes, using: &generator.random)
            let ours = Self.readWithGateway(bytes)
            let cuts = (0..<3).map { _ in Int.random(in: 0...bytes.count, using: &generator.random) }
            #expect(Self.readWithGateway(bytes, cuts: cuts) == ours, "pieces read differently: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            // llhttp knows only registered methods; a mutated method is a token the gateway may still read.
            guard let request = ours.requests.first, Self.methods.contains(request.method) else { continue }
            accepted += 1
            // NIO drops what it read of a buffer that then fails to parse; the gateway answers the requests
            // before the garbage. So NIO reads the bytes the gateway's requests took, and reads them the same
            // way, except where llhttp is stricter than RFC 9112: whitespace after a Content-Length's digits
            // (optional whitespace the RFC allows and the gateway trims), which it refuses.
            let taken = Array(bytes[..<ours.consumed])
            let nio = Self.readWithNIO(taken)
            let lengthWithTrailingSpace = String(decoding: taken, as: UTF8.self).range(of: #"(?i)content-length:[^\r]*[ \t]\r\n"#, options: .regularExpression) != nil
            if nio.failed, lengthWithTrailingSpace { continue }
            #expect(nio.requests == ours.requests, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        // The mutations leave many requests readable: the comparison above is not vacuous.
        #expect(accepted > 500)
    }

    // MARK: Limits and statuses

    @Test func tokenBytesAreRFC9110s() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTP1Syntax.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    /// Only letters fold: `| 0x20` alone would take a CR for a hyphen, `keep\rALIVE` for `keep-alive`.
    @Test func caseInsensitiveComparisonFoldsLettersOnly() {
        #expect(HTTP1Syntax.equalsCaseInsensitively(Array("KEEP-Alive".utf8), "keep-alive"))
        #expect(!HTTP1Syntax.equalsCaseInsensitively(Array("keep\rAlive".utf8), "keep-alive"))
        #expect(!HTTP1Syntax.equalsCaseInsensitively(Array("chunke".utf8), "chunked"))
    }

    @Test func anyTokenIsAMethod() throws {
        var parser = HTTP1RequestParser()
        var bytes = ByteBuffer(string: "X-CUSTOM_1 /v1/models HTTP/1.1\r\n\r\n")
        guard case .head(let head) = try parser.next(&bytes) else {
            Issue.record("no head")
            return
        }
        #expect(head.method.rawValue == "X-CUSTOM_1")
        #expect(head.framing == .none)
    }

    @Test func aHeadOverTheLimitIs431AndFailsBeforeItAllArrives() {
        var parser = HTTP1RequestParser()
        var bytes = ByteBuffer(string: "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: HTTP1RequestParser.maxHeadBytes))
        #expect(throws: HTTP1RequestParseError(kind: .headTooLarge, reason: "request head too large")) { try parser.next(&bytes) }
        #expect(HTTP1RequestParseError(kind: .headTooLarge, reason: "").status.code == 431)
    }

    @Test func statusesSayWhyARequestIsRefused() {
        let cases: [(String, Int)] = [
            ("GET / HTTP/2.0\r\n\r\n", 505), ("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400), ("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501), ("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nhost: a\r\n\r\n", 400),
        ]
        for (text, status) in cases {
            var parser = HTTP1RequestParser()
            var bytes = ByteBuffer(string: text)
            do {
                _ = try parser.next(&bytes)
                Issue.record("accepted \(text.debugDescription)")
            } catch {
                #expect(error.status.code == status, "\(text.debugDescription)")
            }
        }
    }

    @Test func aChunkSizeLineAndTrailersAreBounded() {
        var parser = HTTP1RequestParser()
        var bytes = ByteBuffer(string: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "x", count: HTTP1BodyReader.maxChunkLineBytes))
        #expect(throws: HTTP1RequestParseError.self) { while try parser.next(&bytes) != nil {} }
        parser = HTTP1RequestParser()
        bytes = ByteBuffer(string: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + String(repeating: "X-T: y\r\n", count: HTTP1BodyReader.maxTrailerBytes / 8 + 1))
        #expect(throws: HTTP1RequestParseError.self) { while try parser.next(&bytes) != nil {} }
    }

    /// Keeps whole requests whose head arrives a byte at a time (the end of head is searched from where the
    /// last search stopped, never found early or missed).
    @Test func aHeadArrivingByteByByteIsReadOnce() {
        let text = "\r\nPOST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2\r\n\r\n{}"
        let reading = Self.readWithGateway(Array(text.utf8), cuts: Array(0...text.utf8.count))
        #expect(reading.requests.count == 1)
        #expect(reading.requests.first?.body == Array("{}".utf8))
        #expect(reading.requests.first?.fields == ["host: gateway", "content-length: 2"])
    }
}
