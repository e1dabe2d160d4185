public import NIOCore
import Synchronization

/// Reads one provider stream as canonical events: the events read so far, then the rest as they come.
///
/// A plain value owned by one task at a time: the attempt that opened the stream reads it up to its first
/// content, then hands it over inside a ``ChatEventStream`` to the task that writes the response.
public struct ChatEventReader {
    private var iterator: UpstreamBody.AsyncIterator
    private var decoder: any ChatStreamDecoder
    private var pending: [ChatEvent] = []
    private var ended = false
    /// Counts the stream's target and credential in flight until the reader is done or dropped.
    fileprivate var lease: InFlightLease?
    /// The attempt's total deadline (`timeout.total`), on the router's clock; a stream still running past it is cut off.
    private let deadline: ContinuousClock.Instant
    private let timeSource: any TimeSource
    /// Scrubs secrets from in-band upstream errors before they reach the client or a log.
    private let redactor: SecretRedactor

    init(
        iterator: UpstreamBody.AsyncIterator, decoder: any ChatStreamDecoder, deadline: ContinuousClock.Instant, timeSource: any TimeSource,
        redactor: SecretRedactor
    ) {
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

    private mutating func readNext() async throws(UpstreamFailure) -> [ChatEvent]? {
        if !pending.isEmpty {
            defer { pending.removeAll() }
            return pending
        }
        while !ended {
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
                let events = try decoder.finish()
                return events.isEmpty ? nil : events
            }
            let events = try decoder.decode(chunk)
            if !events.isEmpty { return events }
        }
        return nil
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
            guard let more = try await readNext() else {
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
