public import NIOCore
typealias NIOCoreByteBuffer = ByteBuffer

/// A provider's stream after its first event arrived: the events read so far, then the rest as they come.
///
/// `@unchecked Sendable`: the stream is used by one task at a time. The request handler opens it and
/// hands it over to the response writer, which then reads it to the end; nothing reads it concurrently.
public final class ChatEventStream: @unchecked Sendable, InFlightHolder {
    private var lease: InFlightLease?
    private var iterator: UpstreamBody.AsyncIterator
    private var decoder: any ChatStreamDecoder
    private var pending: [ChatEvent] = []
    private var ended = false
    /// The attempt's total deadline, on the router's clock; a stream still running past it is cut off.
    private let deadline: ContinuousClock.Instant
    private let timeSource: any TimeSource

    init(iterator: UpstreamBody.AsyncIterator, decoder: any ChatStreamDecoder, deadline: ContinuousClock.Instant, timeSource: any TimeSource) {
        self.iterator = iterator
        self.decoder = decoder
        self.deadline = deadline
        self.timeSource = timeSource
    }

    func hold(_ lease: InFlightLease) {
        self.lease = lease
    }

    /// The next batch of events, or `nil` once the upstream stream completed.
    /// - Throws: ``UpstreamFailure`` for an in-band error, a broken connection or a truncated stream.
    public func next() async throws(UpstreamFailure) -> [ChatEvent]? {
        do {
            guard let events = try await readNext() else {
                lease?.release()
                return nil
            }
            return events
        } catch {
            lease?.release()
            throw error
        }
    }

    private func readNext() async throws(UpstreamFailure) -> [ChatEvent]? {
        if !pending.isEmpty {
            defer { pending.removeAll() }
            return pending
        }
        while !ended {
            let chunk: NIOCoreByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch let failure as UpstreamFailure {
                throw failure
            } catch {
                throw UpstreamFailure(kind: Task.isCancelled ? .timeout : .unavailable, message: "upstream stream broke off")
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

    /// Reads until at least one event arrived, keeping them for the next ``next()``.
    func awaitFirstEvent() async throws(UpstreamFailure) {
        guard let first = try await readNext() else {
            throw UpstreamFailure(kind: .unavailable, message: "upstream stream ended without any event")
        }
        pending = first
    }

    /// Reads on until an event with content (text, a tool call, a finish) or the end of the stream,
    /// keeping everything for ``next()``. Until content arrives nothing has been sent to the client,
    /// so a failure here can still fail over.
    func awaitFirstContent() async throws(UpstreamFailure) {
        var buffered = pending
        pending = []
        while !buffered.contains(where: \.carriesContent) {
            guard let more = try await readNext() else { break }
            buffered.append(contentsOf: more)
        }
        pending = buffered
    }
}

extension ChatEvent {
    /// Whether the event is something a client sees as output (not bookkeeping such as start or usage).
    var carriesContent: Bool {
        switch self {
        case .textDelta, .toolCallStart, .toolCallArguments, .finish: true
        case .start, .usage, .logprobs: false
        }
    }
}
