import Foundation
import NIOCore
@testable import SwitchyardCore
import SwitchyardProviders
import Testing

/// A vendor often sends a short answer whole, in one read: the first content must not wait for the rest
/// of that burst to be decoded.
@Suite struct StreamBurstTests {
    static func chunk(_ delta: String, finish: String? = nil) -> String {
        let reason = finish.map { "\"\($0)\"" } ?? "null"
        return #"data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(reason)}]}"#
            + "\n\n"
    }

    static let events = [chunk(#"{"role":"assistant","content":""}"#), chunk(#"{"content":"A"}"#), chunk(#"{"content":"B"}"#), chunk(#"{}"#, finish: "stop")]
    static let burst = events.joined() + "data: [DONE]\n\n"

    /// A reader over `chunks`, delivered as the network would: each one whole, then the end.
    static func reader(_ chunks: [String], passThrough: Bool) -> ChatEventReader {
        var remaining = chunks.map { ByteBuffer(string: $0) }[...]
        let iterator = UpstreamBody.AsyncIterator { remaining.popFirst() }
        return ChatEventReader(
            iterator: iterator, decoder: OpenAIStreamDecoder(), deadline: .now + .seconds(60), timeSource: SystemTimeSource(),
            redactor: SecretRedactor(), passThrough: passThrough ? .init(dropsUsageOnlyEvents: false) : nil)
    }

    @Test(arguments: [true, false])
    func theFirstContentOfABurstComesAloneThenTheRestInOneBatch(passThrough: Bool) async throws {
        var reader = Self.reader([Self.burst], passThrough: passThrough)
        try await reader.awaitFirstContent(by: .now + .seconds(60))

        let first = try await reader.next()
        #expect(first == [.start(id: "c1", model: "gpt-4o"), .textDelta("A", choice: 0)])
        if passThrough { #expect(String(decoding: reader.takeForwardBytes(), as: UTF8.self) == Self.events[0] + Self.events[1]) }

        let rest = try await reader.next()
        #expect(rest == [.textDelta("B", choice: 0), .finish(.stop, choice: 0)])
        if passThrough { #expect(String(decoding: reader.takeForwardBytes(), as: UTF8.self) == Self.events[2] + Self.events[3] + "data: [DONE]\n\n") }
        #expect(try await reader.next() == nil)
    }

    /// Cut anywhere (inside a line, between CR and LF, inside the blank line), the same events come out.
    @Test(arguments: [true, false])
    func aBurstCutAtEveryByteDecodesTheSame(passThrough: Bool) async throws {
        let bytes: [UInt8] = Array(Self.burst.utf8).flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        var reader = Self.reader(bytes.map { String(decoding: [$0], as: UTF8.self) }, passThrough: passThrough)
        try await reader.awaitFirstContent(by: .now + .seconds(60))
        var events: [ChatEvent] = []
        var forwarded: [UInt8] = []
        while let batch = try await reader.next() {
            events += batch
            forwarded += reader.takeForwardBytes()
        }
        #expect(events == [.start(id: "c1", model: "gpt-4o"), .textDelta("A", choice: 0), .textDelta("B", choice: 0), .finish(.stop, choice: 0)])
        if passThrough { #expect(forwarded == bytes) }
    }

    /// Cut into pieces of every size (events whole in one read, spanning reads, several per read), with or
    /// without the unasked usage to take out, a stream forwards exactly its events and decodes the same.
    @Test(arguments: [false, true])
    func piecesOfEverySizeForwardTheSameBytes(dropsUsage: Bool) async throws {
        let usageNull = #","usage":null"#
        let withUsage = Self.events.map { $0.replacingOccurrences(of: "]}\n\n", with: "]\(usageNull)}\n\n") }
        let usageOnly = #"data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"# + "\r\n\r\n"
        // The last event lacks its blank line: it still goes out when the stream ends.
        let stream = withUsage.joined() + usageOnly + "data: [DONE]"
        let expected = dropsUsage ? withUsage.joined().replacingOccurrences(of: usageNull, with: "") + "data: [DONE]" : stream
        let bytes = Array(stream.utf8)
        for size in 1...bytes.count {
            let pieces = stride(from: 0, to: bytes.count, by: size).map { String(decoding: bytes[$0..<min($0 + size, bytes.count)], as: UTF8.self) }
            var remaining = pieces.map { ByteBuffer(string: $0) }[...]
            var reader = ChatEventReader(
                iterator: UpstreamBody.AsyncIterator { remaining.popFirst() }, decoder: OpenAIStreamDecoder(), deadline: .now + .seconds(60),
                timeSource: SystemTimeSource(), redactor: SecretRedactor(), passThrough: .init(dropsUsageOnlyEvents: dropsUsage))
            var events: [ChatEvent] = []
            var forwarded: [UInt8] = []
            while let batch = try await reader.next() {
                events += batch
                forwarded += reader.takeForwardBytes()
            }
            forwarded += reader.takeForwardBytes()
            #expect(String(decoding: forwarded, as: UTF8.self) == expected, "pieces of \(size) bytes")
            #expect(events.contains(.usage(Usage(promptTokens: 3, completionTokens: 2))), "pieces of \(size) bytes")
            #expect(events.filter(\.carriesContent).count == 3, "pieces of \(size) bytes")
        }
    }

    /// A vendor that never ends an event cannot make a pass-through stream buffer without bound.
    @Test func anEventLongerThanTheLimitFailsTheStream() throws {
        var splitter = SSEEventSplitter(maximumEventBytes: 64)
        splitter.append(ByteBuffer(string: "data: " + String(repeating: "x", count: 50)))
        #expect(try splitter.nextEvent() == nil)
        splitter.append(ByteBuffer(string: String(repeating: "y", count: 20)))
        #expect(throws: UpstreamFailure.self) { try splitter.nextEvent() }
        // Whole events up to the limit still pass.
        var small = SSEEventSplitter(maximumEventBytes: 64)
        small.append(ByteBuffer(string: "data: " + String(repeating: "x", count: 50) + "\n\ndata: y\n\n"))
        #expect(try small.nextEvent()?.readableBytes == 58)
        #expect(try small.nextEvent() == ByteBuffer(string: "data: y\n\n"))
    }
}
