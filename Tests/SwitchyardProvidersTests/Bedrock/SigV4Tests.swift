import Crypto
import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct SigV4Tests {
    static let vectors = try! Fixtures.json("bedrock/sigv4_vectors.json")
    static let instant = Date(timeIntervalSince1970: 1_736_942_400)  // 2025-01-15T12:00:00Z

    static func request(_ vector: JSONValue) -> UpstreamRequest {
        UpstreamRequest(
            method: "POST", url: vector["url"]?.stringValue ?? "", headers: ["Content-Type": "application/json"],
            body: ByteBuffer(string: vector["body"]?.stringValue ?? ""))
    }

    static func signer(_ vector: JSONValue, contentHash: Bool) -> SigV4Signer {
        SigV4Signer(
            credentials: .init(
                accessKeyID: vector["access_key"]?.stringValue ?? "", secretAccessKey: vector["secret_key"]?.stringValue ?? "",
                sessionToken: vector["session_token"]?.stringValue),
            region: vector["region"]?.stringValue ?? "", signsContentHash: contentHash)
    }

    /// Vector A (botocore, session credentials, content hash signed): every intermediate value byte for byte.
    @Test func vectorAWithSessionTokenAndContentHash() throws {
        let vector = try #require(Self.vectors["vector_a_session_creds_with_content_sha"])
        var request = Self.request(vector)
        let signer = Self.signer(vector, contentHash: true)
        signer.sign(&request, date: Self.instant)
        #expect(request.headers["authorization"] == vector["signed_request_headers"]?["Authorization"]?.stringValue)
        #expect(request.headers["x-amz-security-token"] == "FQoGZXIvYXdzEXAMPLESESSIONTOKEN")
        let hash = try #require(vector["body_sha256"]?.stringValue)
        let (canonical, _) = SigV4Signer.canonicalRequest(
            method: "POST", url: .init(vector["url"]?.stringValue ?? ""), headers: request.headers, payloadHash: hash)
        #expect(canonical == vector["canonical_request"]?.stringValue)
        let key = signer.signingKey(day: "20250115").withUnsafeBytes { Data($0) }
        #expect(key.map { String(format: "%02x", $0) }.joined() == vector["signing_key_hex"]?.stringValue)
    }

    /// Vector B (what a default botocore client signs: no content hash, no token).
    @Test func vectorBAsBotocoreSignsByDefault() throws {
        let vector = try #require(Self.vectors["vector_b_botocore_client_default"])
        var request = Self.request(vector)
        Self.signer(vector, contentHash: false).sign(&request, date: Self.instant)
        #expect(request.headers["authorization"] == vector["authorization"]?.stringValue)
    }

    /// Derived cases: the double-encoding of a model id with `:` and `/` (an ARN), query strings sorted and
    /// encoded, unreserved characters left alone, a non-default port in the host.
    @Test func derivedCanonicalForms() {
        let arn = "/model/" + "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            .replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: "/", with: "%2F") + "/converse"
        #expect(SigV4Signer.URLParts("https://h" + arn).path == arn)
        let (canonical, signed) = SigV4Signer.canonicalRequest(
            method: "POST", url: .init("http://127.0.0.1:8443" + arn + "?b=2&a=x y&a=1&c=~-._"), headers: ["Host": "127.0.0.1:8443", "X-Custom": "  a   b  "],
            payloadHash: "h")
        let lines = canonical.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[1] == "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252Fus.anthropic.claude-sonnet-4-5-20250929-v1%253A0/converse")
        #expect(lines[2] == "a=1&a=x%20y&b=2&c=~-._")
        #expect(lines[3] == "host:127.0.0.1:8443" && lines[4] == "x-custom:a b")
        #expect(signed == "host;x-custom")
        #expect(SigV4Signer.URLParts("https://bedrock-runtime.us-east-1.amazonaws.com:443/x").hostHeader == "bedrock-runtime.us-east-1.amazonaws.com")
    }
}

@Suite struct AWSEventStreamTests {
    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static let single = try! Fixtures.json("bedrock/eventstream_single_message.json")
    static let stream = bytes(hex: try! Fixtures.text("bedrock/converse_stream_text_tool_use.hex").filter(\.isHexDigit))

    @Test func theRecordedFrameDecodesAndEncodesByteForByte() throws {
        let frame = Self.bytes(hex: try #require(Self.single["hex"]?.stringValue))
        var decoder = AWSEventStreamDecoder()
        let messages = try decoder.decode(ByteBuffer(bytes: frame))
        #expect(messages.count == 1)
        #expect(messages[0].headers == [":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"])
        #expect(try JSONParser.parse(messages[0].payload) == Self.single["payload"])
        #expect(messages[0].encoded().count == frame.count)
        // Our encoder writes headers sorted; decoding its frame gives the same message back.
        var again = AWSEventStreamDecoder()
        #expect(try again.decode(ByteBuffer(bytes: messages[0].encoded())) == messages)
    }

    /// Split at every byte offset, the recorded stream decodes to the same messages.
    @Test func theRecordedStreamDecodesIdenticallyAtEverySplit() throws {
        var whole = AWSEventStreamDecoder()
        let expected = try whole.decode(ByteBuffer(bytes: Self.stream))
        let recorded = try #require(try Fixtures.json("bedrock/converse_stream_text_tool_use.events.json").arrayValue)
        #expect(expected.map(\.headers) == recorded.map { ($0["headers"]?.objectValue ?? [:]).reduce(into: [:]) { $0[$1.0] = $1.1.stringValue } })
        #expect(try expected.map { try JSONParser.parse($0.payload) } == recorded.compactMap { $0["payload"] })
        for offset in 1..<Self.stream.count {
            var decoder = AWSEventStreamDecoder()
            let messages = try decoder.decode(ByteBuffer(bytes: Self.stream[..<offset])) + decoder.decode(ByteBuffer(bytes: Self.stream[offset...]))
            #expect(messages == expected, "split at \(offset)")
            #expect(!decoder.hasPartialFrame)
        }
    }

    @Test func corruptionAndAbsurdLengthsAreUpstreamFailures() throws {
        let frame = Self.bytes(hex: try #require(Self.single["hex"]?.stringValue))
        for (index, name) in [(9, "prelude"), (100, "message")] {
            var corrupt = frame
            corrupt[index] ^= 0x01
            var decoder = AWSEventStreamDecoder()
            #expect(throws: UpstreamFailure.self, "corrupt \(name)") { try decoder.decode(ByteBuffer(bytes: corrupt)) }
        }
        var absurd = AWSEventStreamDecoder()
        let huge: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: UpstreamFailure.self) { try absurd.decode(ByteBuffer(bytes: huge)) }
        var truncated = AWSEventStreamDecoder()
        #expect(try truncated.decode(ByteBuffer(bytes: frame.prefix(100))).isEmpty)
        #expect(truncated.hasPartialFrame)
    }
}
