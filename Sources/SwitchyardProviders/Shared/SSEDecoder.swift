#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore
public import SwitchyardCore

/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` name, if the server sent one.
    public var event: String?
    /// The `data:` lines joined with newlines.
    public var data: String

    public init(event: String?, data: String) {
        self.event = event
        self.data = data
    }
}

/// Incremental server-sent-events parser (WHATWG rules): events end at a blank line, `data:` lines
/// join with `\n`, one space after the colon is dropped, comments (`:`) are skipped, and `\n`, `\r\n`
/// and `\r` all end lines.
public struct SSEDecoder: Sendable {
    private var line: [UInt8] = []
    private var event: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false
    /// A line longer than this is an error, so a hostile upstream cannot grow memory without bound.
    private let maximumLineBytes: Int
    /// An event whose joined `data:` lines exceed this is an error too (many short lines add up).
    private let maximumEventBytes: Int

    public init(maximumLineBytes: Int = SSELimits.maximumEventBytes, maximumEventBytes: Int = SSELimits.maximumEventBytes) {
        self.maximumLineBytes = maximumLineBytes
        self.maximumEventBytes = maximumEventBytes
    }

    /// Feeds bytes and returns the events they complete.
    public mutating func decode(_ buffer: ByteBuffer) throws(UpstreamFailure) -> [SSEEvent] {
        var events: [SSEEvent] = []
        var bytes = buffer.readableBytesView
        let taken = takeWholeDataEvents(bytes, into: &events)
        if taken > 0 { bytes = bytes.dropFirst(taken) }
        // Runs between line ends are copied whole: a stream is mostly long `data:` lines.
        while let first = bytes.first {
            if lastWasCR {
                lastWasCR = false
                if first == 0x0A {
                    bytes = bytes.dropFirst()
                    continue
                }
            }
            guard let end = bytes.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) else {
                try appendToLine(bytes)
                break
            }
            try appendToLine(bytes[..<end])
            lastWasCR = bytes[end] == 0x0D
            try endLine(into: &events)
            bytes = bytes[bytes.index(after: end)...]
        }
        return events
    }

    /// Takes the events at the start of `bytes` that are one `data:` line and a blank line, `\n`-ended (what
    /// vendors send), straight from the bytes: their data is the line's rest, with no copy into the line and
    /// data buffers the general rules use. Stops at the first event of any other shape, or one cut off, and
    /// returns how many bytes it took; the general path reads on from there.
    private mutating func takeWholeDataEvents(_ bytes: ByteBufferView, into events: inout [SSEEvent]) -> Int {
        guard isBetweenEvents else { return 0 }
        let limits = singleDataLineLimits
        return bytes.withContiguousStorageIfAvailable { raw -> Int in
            let all = UnsafeRawBufferPointer(raw)
            var offset = 0
            while let (data, length) = Self.leadingDataEvent(in: UnsafeRawBufferPointer(rebasing: all[offset...]), limits: limits) {
                events.append(SSEEvent(event: nil, data: String(decoding: data, as: UTF8.self)))
                offset += length
            }
            return offset
        } ?? 0
    }

    /// Whether no line or event is under way: the next bytes start a new event.
    var isBetweenEvents: Bool { line.isEmpty && !hasData && event == nil && !lastWasCR }

    /// The limits ``singleDataLine(in:limits:)`` keeps to.
    var singleDataLineLimits: (line: Int, event: Int) { (maximumLineBytes, maximumEventBytes) }

    /// The data of `bytes` when they are exactly one event of one `data:` line (what a pass-through stream feeds,
    /// one event at a time); nil for anything else, which the general rules read. Read between events, such
    /// bytes are that event whole.
    static func singleDataLine(in bytes: UnsafeRawBufferPointer, limits: (line: Int, event: Int)) -> UnsafeRawBufferPointer? {
        guard let (data, length) = leadingDataEvent(in: bytes, limits: limits), length == bytes.count else { return nil }
        return data
    }

    /// The data of the event at the start of `bytes` and its length, when that event is one `data:` line and a
    /// blank line, `\n`-ended, within the limits; nil for any other shape, an event cut off, or one over a
    /// limit (the general path reports it).
    private static func leadingDataEvent(
        in bytes: UnsafeRawBufferPointer, limits: (line: Int, event: Int)
    ) -> (data: UnsafeRawBufferPointer, length: Int)? {
        guard bytes.count >= 7, let lineStart = bytes.baseAddress, memcmp(lineStart, "data:", 5) == 0,
            let newline = memchr(lineStart, 0x0A, bytes.count)
        else { return nil }
        let lineLength = lineStart.distance(to: UnsafeRawPointer(newline))
        // The blank line must follow; a bare CR anywhere in the line ends it by the rules: not this shape.
        guard lineLength + 1 < bytes.count, bytes[lineLength + 1] == 0x0A, memchr(lineStart, 0x0D, lineLength) == nil else { return nil }
        var valueStart = 5
        if valueStart < lineLength, bytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        guard lineLength <= limits.line, lineLength - valueStart <= limits.event else { return nil }
        return (UnsafeRawBufferPointer(rebasing: bytes[valueStart..<lineLength]), lineLength + 2)
    }

    private mutating func appendToLine(_ bytes: ByteBufferView) throws(UpstreamFailure) {
        guard !bytes.isEmpty else { return }
        guard line.count + bytes.count <= maximumLineBytes else {
            throw UpstreamFailure(kind: .unavailable, message: "upstream stream line exceeds \(maximumLineBytes) bytes")
        }
        line.append(contentsOf: bytes)
    }

    /// Flushes an event that the stream ended without a trailing blank line.
    public mutating func finish() throws(UpstreamFailure) -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !line.isEmpty { try endLine(into: &events) }
        try endLine(into: &events)
        return events
    }

    private mutating func endLine(into events: inout [SSEEvent]) throws(UpstreamFailure) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData || event != nil {
                events.append(SSEEvent(event: event, data: String(decoding: data, as: UTF8.self)))
            }
            event = nil
            data.removeAll(keepingCapacity: true)
            hasData = false
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[..<colon]
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        if Self.field(field, is: "data") {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            if data.count > maximumEventBytes {
                throw UpstreamFailure(kind: .unavailable, message: "upstream stream event exceeds \(maximumEventBytes) bytes")
            }
            hasData = true
        } else if Self.field(field, is: "event") {
            event = String(decoding: value, as: UTF8.self)
        }
    }
}

extension SSEDecoder {
    /// Whether a line's field name is `name` (checked for every line of every stream).
    fileprivate static func field(_ field: ArraySlice<UInt8>, is name: StaticString) -> Bool {
        field.withUnsafeBufferPointer { JSONCursor.key($0, is: name) }
    }
}

/// A stream decoder for an SSE upstream: it turns each complete event into canonical events, and says at
/// the end whether the stream was complete. ``decode(_:)`` and ``finish()`` come with it.
protocol SSEChatStreamDecoder: ChatStreamDecoder {
    var sse: SSEDecoder { get set }
    /// Appends the canonical events of one SSE event; throws for an in-band error or undecodable data.
    mutating func handle(_ event: SSEEvent, into events: inout [ChatEvent]) throws(UpstreamFailure)
    /// Appends the canonical events of an event without a name whose data is `data` (the vendor's bytes, in
    /// place); by default the same as ``handle(_:into:)`` with the data as text. A decoder that can read the
    /// bytes as they are skips the string.
    mutating func handleData(_ data: UnsafeRawBufferPointer, into events: inout [ChatEvent]) throws(UpstreamFailure)
    /// Throws when the upstream closed before its stream was complete.
    func checkComplete() throws(UpstreamFailure)
}

extension SSEChatStreamDecoder {
    public mutating func decode(_ bytes: ByteBuffer) throws(UpstreamFailure) -> [ChatEvent] {
        var events: [ChatEvent] = []
        try decode(bytes, into: &events)
        return events
    }

    public mutating func decode(_ bytes: ByteBuffer, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        if sse.isBetweenEvents {
            // One whole event of one data line: its data goes to the decoder as the vendor's bytes.
            let limits = sse.singleDataLineLimits
            let outcome: Result<Bool, UpstreamFailure> = bytes.withUnsafeReadableBytes { raw in
                guard let data = SSEDecoder.singleDataLine(in: raw, limits: limits) else { return .success(false) }
                do throws(UpstreamFailure) {
                    try handleData(data, into: &events)
                    return .success(true)
                } catch {
                    return .failure(error)
                }
            }
            if try outcome.get() { return }
        }
        for event in try sse.decode(bytes) { try handle(event, into: &events) }
    }

    mutating func handleData(_ data: UnsafeRawBufferPointer, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        try handle(SSEEvent(event: nil, data: String(decoding: data, as: UTF8.self)), into: &events)
    }

    public mutating func finish() throws(UpstreamFailure) -> [ChatEvent] {
        var events: [ChatEvent] = []
        for event in try sse.finish() { try handle(event, into: &events) }
        try checkComplete()
        return events
    }
}
