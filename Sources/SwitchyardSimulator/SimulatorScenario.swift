public import SwitchyardCore
import Synchronization

/// What a simulated vendor does with one request.
public enum SimulatorScenario: Sendable {
    /// Answer in the vendor's wire format; streams send `text` word by word, then the tool calls.
    case reply(SimulatedReply)
    /// Answer with an HTTP error: status, JSON body and headers (use the vendor's real error bodies).
    case error(status: Int, body: JSONValue, headers: [String: String] = [:])
    /// Send nothing until `release` opens; the client is expected to give up first.
    case hang(release: SimulatorGate)
    /// Stream `chunks` text chunks, then fail in-band with the vendor's stream error event.
    case failMidStream(afterChunks: Int, error: JSONValue)
    /// Answer exactly these bytes (a recorded response or SSE stream from the fixtures), whatever was asked.
    case verbatim(status: Int = 200, contentType: String = "application/json", body: String)
}

/// The content of a simulated answer.
public struct SimulatedReply: Sendable {
    public var text: String
    public var toolCalls: [(name: String, arguments: String)]
    /// Delay before the response head (and the first event).
    public var firstByteDelay: Duration
    /// Delay between streamed chunks.
    public var chunkInterval: Duration
    /// A stream waits for this gate before sending its final events.
    public var holdBeforeFinish: SimulatorGate?
    /// Reasoning shown before the answer, when the request asks for it (Anthropic `thinking`, Gemini
    /// `includeThoughts`): signed as the vendor signs it.
    public var reasoning: String?

    public init(
        text: String, toolCalls: [(name: String, arguments: String)] = [], firstByteDelay: Duration = .zero,
        chunkInterval: Duration = .zero, holdBeforeFinish: SimulatorGate? = nil, reasoning: String? = nil
    ) {
        self.reasoning = reasoning
        self.text = text
        self.toolCalls = toolCalls
        self.firstByteDelay = firstByteDelay
        self.chunkInterval = chunkInterval
        self.holdBeforeFinish = holdBeforeFinish
    }
}

/// A one-shot gate: ``wait()`` suspends until ``open()`` is called (immediately once it has been), or until
/// the waiting task is cancelled, so a test that fails before opening a gate ends instead of hanging.
public final class SimulatorGate: Sendable {
    private struct State {
        var isOpen = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    public func wait() async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Something the simulator observed, for tests to await instead of sleeping.
public enum SimulatorEvent: Sendable, Hashable {
    case requestReceived(path: String)
    /// A streamed response could not be written to the end because the client went away.
    case streamCancelled
    case streamCompleted
}

/// A request as the simulated vendor received it.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: JSONValue?
    public var rawBody: String
}
