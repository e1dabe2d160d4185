import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardProviders

/// An event of one `data:` line, fed whole (as a pass-through stream feeds each event), is read from the
/// vendor's bytes without the general SSE parser; it must mean exactly what the general rules make of it.
@Suite("SSE: a whole single-line event read in place means what the general rules say")
struct SSESingleDataLineTests {
    static let opening =
        #"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#
        + "\n\n"
    static let text = #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}"#

    /// The events of `event` after an opening chunk (or as the first): fed whole, or a byte at a time, which
    /// never forms a whole event in one piece and so always takes the general rules.
    static func decode(_ event: String, whole: Bool, first: Bool) -> Result<[ChatEvent], UpstreamFailure> {
        var decoder = OpenAIStreamDecoder()
        return Result { () throws(UpstreamFailure) in
            if !first { _ = try decoder.decode(ByteBuffer(string: opening)) }
            if whole { return try decoder.decode(ByteBuffer(string: event)) }
            var events: [ChatEvent] = []
            for byte in event.utf8 { events += try decoder.decode(ByteBuffer(bytes: [byte])) }
            return events
        }
    }

    static let events = [
        "data: \(text)\n\n", "data:\(text)\n\n", "data:  \(text)\n\n", "data:\n\n", "data: \n\n", "data: [DONE]\n\n", "data: [DONE] extra\n\n",
        "data: \(text)\r\n\r\n", "data: \(text)\r\n\n", "data: \(text)\n\r\n", "data: {\"a\":\r1}\n\n", "data: \(text)\ndata: \(text)\n\n",
        "event: message\ndata: \(text)\n\n", ": comment\ndata: \(text)\n\n", "data: not json\n\n", "datum: \(text)\n\n", "data\n\n",
        #"data: {"error":{"message":"boom","type":"server_error"}}"# + "\n\n",
        #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}]}}]}"# + "\n\n",
    ]

    @Test(arguments: events)
    func anEventMeansTheSameFedWholeOrByteByByte(_ event: String) {
        for first in [true, false] {
            #expect(Self.decode(event, whole: true, first: first) == Self.decode(event, whole: false, first: first), "first: \(first)")
        }
    }

    @Test func generatedChunksMeanTheSameFedWholeOrByteByByte() async {
        var generator = ChunkGenerator(seed: 29)
        for round in 0..<600 {
            // Other tests' timed clients share the test process's few threads: this loop lets them run.
            if round % 50 == 0 { await Task.yield() }
            let event = "data: " + OpenAIPlainChunkTests.chunk(using: &generator) + "\n\n"
            let first = round % 3 == 0
            #expect(Self.decode(event, whole: true, first: first) == Self.decode(event, whole: false, first: first), "\(event)")
        }
    }

    @Test func onlyAWholeSingleDataLineIsReadInPlace() {
        let limits = SSEDecoder().singleDataLineLimits
        func data(_ event: String) -> String? {
            var bytes = Array(event.utf8)
            return bytes.withUnsafeMutableBytes { raw in
                SSEDecoder.singleDataLine(in: UnsafeRawBufferPointer(raw), limits: limits).map { String(decoding: $0, as: UTF8.self) }
            }
        }
        #expect(data("data: {}\n\n") == "{}")
        #expect(data("data:{}\n\n") == "{}")
        #expect(data("data:  {}\n\n") == " {}")
        #expect(data("data:\n\n") == "")
        #expect(data("data: {}\r\n\r\n") == nil)
        #expect(data("data: {}\ndata: {}\n\n") == nil)
        #expect(data("event: x\ndata: {}\n\n") == nil)
        #expect(data("data: {}\n") == nil)
        #expect(data("data: {}") == nil)
        #expect(data(": note\n\n") == nil)
        // Over the limits the general rules report it.
        var small = SSEDecoder(maximumLineBytes: 8, maximumEventBytes: 8)
        let tight = small.singleDataLineLimits
        var long = Array("data: 0123456789\n\n".utf8)
        #expect(long.withUnsafeMutableBytes { SSEDecoder.singleDataLine(in: UnsafeRawBufferPointer($0), limits: tight) } == nil)
        #expect(throws: UpstreamFailure.self) { try small.decode(ByteBuffer(string: "data: 0123456789\n\n")) }
    }
}
