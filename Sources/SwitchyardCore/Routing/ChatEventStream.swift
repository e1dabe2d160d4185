import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one provider stream as canonical events: the events read so far, then the rest as they come.
///
/// A plain value owned by one task at a time: the attempt that opened the stream reads it up to its first
/// content, then hands it over inside a ``ChatEventStream`` to the task that writes the response.
public struct ChatEventReader {
    /// How a stream in the client's own dialect goes back: the vendor's events byte for byte.
    public struct PassThrough: Sendable {
        /// Drop events that carry only usage (an OpenAI usage chunk the gateway asked for and the client did not).
        public var dropsUsageOnlyEvents: Bool

        public init(dropsUsageOnlyEvents: Bool) {
            self.dropsUsageOnlyEvents = dropsUsageOnlyEvents
        }
    }

    private var iterator: UpstreamBody.AsyncIterator
    private var decoder: any ChatStreamDecoder
    private var pending: [ChatEvent] = []
    /// Bytes read from the vendor and not yet fed to the decoder.
    private var undecoded: ByteBuffer?
    private var ended = false
    /// Set when the vendor's own events go to the client; they are still decoded, for usage, finish and errors.
    public let passThrough: PassThrough?
    private var splitter = SSEEventSplitter()
    /// Whole vendor events read but not yet taken for the client (``takeForwardBytes()``).
    private var forward: [UInt8] = []
    /// Whether the failure that ended the stream was the vendor's own in-band error event, already in
    /// ``takeForwardBytes()``: the client then needs no error event of the gateway's.
    public private(set) var failureWasForwarded = false
    /// Counts the stream's target and credential in flight until the reader is done or dropped.
    fileprivate var lease: InFlightLease?
    /// The attempt's total deadline (`timeout.total`), on the router's clock; a stream still running past it is cut off.
    private let deadline: ContinuousClock.Instant
    private let timeSource: any TimeSource
    /// Scrubs secrets from in-band upstream errors before they reach the client or a log.
    private let redactor: SecretRedactor

    init(
        iterator: UpstreamBody.AsyncIterator, decoder: any ChatStreamDecoder, deadline: ContinuousClock.Instant, timeSource: any TimeSource,
        redactor: SecretRedactor, passThrough: PassThrough? = nil
    ) {
        self.passThrough = passThrough
        self.iterator = iterator
        self.decoder = decoder
        self.deadline = deadline
        self.timeSource = timeSource
        self.redactor = redactor
    }

    /// The next batch of events, or `nil` once the upstream stream completed.
    /// - Throws: ``UpstreamFailure`` for an in-band error, a broken connection or a truncated stream.
    public mutating func next() async throws(UpstreamFailure) -> [ChatEvent]? {
        do {
            guard let events = try await readNext() else {
                lease?.release()
                return nil
            }
            return events
        } catch {
            lease?.release()
            throw redactor.redact(error)
        }
    }

    /// Decodes what was read but not yet decoded, else reads on; returns once events (or bytes to forward)
    /// are ready. `eventByEvent` decodes one SSE event at a time, so the first content leaves before the
    /// rest of a burst is decoded (a vendor's answer often arrives whole in one read); otherwise all of it.
    private mutating func readNext(eventByEvent: Bool = false) async throws(UpstreamFailure) -> [ChatEvent]? {
        if !pending.isEmpty {
            defer { pending.removeAll() }
            return pending
        }
        while true {
            if var bytes = undecoded {
                let piece: ByteBuffer
                if eventByEvent, let length = bytes.lengthThroughFirstSSEEvent(), length < bytes.readableBytes {
                    piece = bytes.readSlice(length: length)!
                    undecoded = bytes
                } else {
                    piece = bytes
                    undecoded = nil
                }
                let events = passThrough == nil ? try decoder.decode(piece) : try decodeForwarding(piece)
                if !events.isEmpty || !forward.isEmpty { return events }
                continue
            }
            if ended { return nil }
            let chunk: ByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch let failure as UpstreamFailure {
                throw failure
            } catch {
                throw Task.isCancelled ? .cancelled : UpstreamFailure(kind: .unavailable, message: "upstream stream broke off")
            }
            if timeSource.now > deadline {
                ended = true
                throw UpstreamFailure(kind: .timeout, message: "the stream ran past its total time limit")
            }
            guard let chunk else {
                ended = true
                if passThrough != nil {
                    // A trailing event without its blank line still goes out, once the decoder accepts the end.
                    let rest = splitter.remainder()
                    let events = try decoder.finish()
                    forward.append(contentsOf: rest.readableBytesView)
                    return events.isEmpty ? nil : events
                }
                let events = try decoder.finish()
                return events.isEmpty ? nil : events
            }
            undecoded = chunk
        }
    }

    /// Splits a chunk into whole events, decodes each and keeps its bytes for the client; only whole
    /// events are forwarded, so an error event of the gateway's can always follow cleanly.
    private mutating func decodeForwarding(_ chunk: ByteBuffer) throws(UpstreamFailure) -> [ChatEvent] {
        var events: [ChatEvent] = []
        splitter.append(chunk)
        // What this chunk completes is at most what the splitter holds: room for it at once, instead of the
        // forwarded bytes growing (and being copied) event by event through a burst.
        forward.reserveCapacity(forward.count + splitter.pendingBytes)
        while let raw = try splitter.nextEvent() {
            let start = events.count
            do {
                try decoder.decode(raw, into: &events)
            } catch {
                // The vendor's own error event, in the client's dialect, goes out as the vendor sent it, unless
                // it echoes a secret: then the gateway's redacted error event replaces it.
                if !redactor.containsSecret(raw.readableBytesView) {
                    forward.append(contentsOf: raw.readableBytesView)
                    failureWasForwarded = true
                }
                throw error
            }
            if passThrough?.dropsUsageOnlyEvents == true {
                // The gateway asked for usage the client did not: its chunk and the `"usage":null` it adds to
                // every other chunk are taken out again (the pattern cannot occur unescaped inside a string).
                if events.count > start, events[start...].allSatisfy({ if case .usage = $0 { true } else { false } }) { continue }
                raw.withUnsafeReadableBytes { Self.append($0, removingNullUsageMembersTo: &forward) }
            } else {
                raw.withUnsafeReadableBytes { forward.append(contentsOf: $0) }
            }
        }
        return events
    }

    private static let nullUsageMember = Array(#","usage":null"#.utf8)
    /// Where the member's `g` is: the byte searched for, rare in a chunk's JSON (a comma starts nearly every
    /// member, and each found is a call and a comparison), so most chunks are passed in one or two steps.
    private static let nullUsageAnchor = 5

    /// Appends `bytes` to `output` without the occurrences of `,"usage":null`, copying the runs between them.
    /// Every event of such a stream passes here.
    static func append(_ bytes: UnsafeRawBufferPointer, removingNullUsageMembersTo output: inout [UInt8]) {
        let pattern = nullUsageMember
        let anchor = nullUsageAnchor
        guard let start = bytes.baseAddress, bytes.count >= pattern.count else { return output.append(contentsOf: bytes) }
        pattern.withUnsafeBytes { needle in
            let anchorByte = Int32(needle[anchor])
            var copied = 0
            // Anchors are searched from where a match starting after the last removal would have its own.
            var index = anchor
            while index < bytes.count, let found = memchr(start + index, anchorByte, bytes.count - index) {
                let candidate = start.distance(to: UnsafeRawPointer(found)) - anchor
                if candidate + needle.count <= bytes.count, memcmp(start + candidate, needle.baseAddress!, needle.count) == 0 {
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[copied..<candidate]))
                    copied = candidate + needle.count
                    index = copied + anchor
                } else {
                    index = candidate + anchor + 1
                }
            }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[copied...]))
        }
    }

    /// The vendor's bytes read so far and not yet taken: whole events, ready for the client.
    public mutating func takeForwardBytes() -> [UInt8] {
        // Handed over whole: keeping the capacity would copy it into a new buffer that a slow stream then
        // holds, unused, until its next chunk.
        defer { forward = [] }
        return forward
    }

    /// Reads on until an event with content (text, a tool call, a finish) or the end of the stream,
    /// keeping everything for ``next()``. Until content arrives nothing has been sent to the client,
    /// so a failure here can still fail over.
    ///
    /// No timer runs: an upstream that goes silent is cut off by the transport's idle read timeout (the
    /// provider's `first_byte`), and one that keeps sending events without content is checked against
    /// `answerDeadline` as each chunk arrives.
    mutating func awaitFirstContent(by answerDeadline: ContinuousClock.Instant) async throws(UpstreamFailure) {
        var buffered: [ChatEvent] = []
        while !buffered.contains(where: \.carriesContent) {
            guard let more = try await readNext(eventByEvent: true) else {
                if buffered.isEmpty { throw UpstreamFailure(kind: .unavailable, message: "upstream stream ended without any event") }
                break
            }
            buffered.append(contentsOf: more)
            if timeSource.now > answerDeadline, !buffered.contains(where: \.carriesContent) {
                throw UpstreamFailure(kind: .timeout, message: "the first streamed content did not arrive in time")
            }
        }
        pending = buffered
    }
}

/// The bounds every reader of a vendor's server-sent events keeps, whichever way it reads them.
public enum SSELimits {
    /// The longest line, and the longest event (its joined `data:` lines), a stream may carry.
    public static let maximumEventBytes = 16 << 20
}

/// Cuts an SSE byte stream into whole events (each ending in a blank line, LF or CRLF), as the bytes arrived.
/// Events are slices of the bytes read (no copy) unless an event spans reads, which joins those reads.
struct SSEEventSplitter {
    /// The bytes not yet cut into events; nil once all were, so the read they came from is not held between
    /// reads (a slow stream would otherwise keep one of the connection's receive buffers for its whole life).
    private var buffer: ByteBuffer?
    /// How many of the buffer's readable bytes were already searched for the end of an event.
    private var scanned = 0
    /// An event longer than this is an error, so a vendor that never ends one cannot grow memory without bound.
    let maximumEventBytes: Int

    init(maximumEventBytes: Int = SSELimits.maximumEventBytes) {
        self.maximumEventBytes = maximumEventBytes
    }

    /// Adds bytes read from the vendor.
    mutating func append(_ chunk: ByteBuffer) {
        if buffer == nil {
            buffer = chunk
            scanned = 0
        } else {
            buffer!.writeImmutableBuffer(chunk)
        }
    }

    /// The next whole event among the bytes added, its blank line included; `nil` until one is complete.
    /// - Throws: ``UpstreamFailure`` when the event under way is already longer than ``maximumEventBytes``.
    mutating func nextEvent() throws(UpstreamFailure) -> ByteBuffer? {
        guard var bytes = buffer else { return nil }
        let from = max(scanned, 1)
        guard let end = bytes.withUnsafeReadableBytes({ Self.endOfEvent(in: $0, from: from) }) else {
            scanned = bytes.readableBytes
            if scanned > maximumEventBytes {
                throw UpstreamFailure(kind: .unavailable, message: "upstream stream event exceeds \(maximumEventBytes) bytes")
            }
            return nil
        }
        scanned = 0
        buffer = nil  // the bytes are uniquely referenced while they are cut
        let event = bytes.readSlice(length: end + 1)
        if bytes.readableBytes > 0 { buffer = bytes }
        return event
    }

    /// The position of the line feed that ends an event, at or after `start`: the second of a blank line,
    /// "\n\n" or "\n\r\n" (looking back no further than the bytes' start); `nil` while none has arrived.
    /// Line feeds are found with `memchr`: every byte of every pass-through stream is searched here.
    static func endOfEvent(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var index = start
        while index < bytes.count, let found = memchr(base + index, 0x0A, bytes.count - index) {
            let newline = base.distance(to: UnsafeRawPointer(found))
            if newline > 0, bytes[newline - 1] == 0x0A || (newline >= 2 && bytes[newline - 1] == 0x0D && bytes[newline - 2] == 0x0A) {
                return newline
            }
            index = newline + 1
        }
        return nil
    }

    /// How many bytes were added and not yet cut into events.
    var pendingBytes: Int { buffer?.readableBytes ?? 0 }

    /// Bytes after the last whole event (a stream that ended without its final blank line).
    mutating func remainder() -> ByteBuffer {
        defer {
            buffer = nil
            scanned = 0
        }
        return buffer ?? ByteBuffer()
    }
}

extension ByteBuffer {
    /// The length of the readable bytes up to and including the first blank line ("\n\n" or "\n\r\n"),
    /// which ends a server-sent event; `nil` without one. Any incremental decoder accepts bytes cut anywhere,
    /// so a cut here is only ever a matter of timing.
    fileprivate func lengthThroughFirstSSEEvent() -> Int? {
        withUnsafeReadableBytes { SSEEventSplitter.endOfEvent(in: $0, from: 0).map { $0 + 1 } }
    }
}

/// A stream whose first content has arrived, handed from the attempt to the response writer.
///
/// Safe by construction: the reader inside can be taken exactly once (``takeReader()``), so no two tasks
/// can ever read the same upstream stream; the lock is taken once per stream, never per chunk.
public final class ChatEventStream: Sendable, InFlightHolder {
    private let reader: Mutex<ChatEventReader?>

    init(_ reader: sending ChatEventReader) {
        self.reader = Mutex(reader)
    }

    func hold(_ lease: InFlightLease) {
        reader.withLock { reader in reader?.lease = lease }
    }

    /// The reader, the first time; `nil` after that.
    public func takeReader() -> ChatEventReader? {
        reader.withLock { reader in reader.take() }
    }
}

extension ChatEvent {
    /// Whether the event is something a client sees as output (not bookkeeping such as start or usage).
    var carriesContent: Bool {
        switch self {
        case .textDelta, .refusalDelta, .reasoningDelta, .reasoningSignature, .redactedReasoning, .toolCallStart, .toolCallArguments, .finish: true
        case .start, .usage, .logprobs: false
        }
    }
}
