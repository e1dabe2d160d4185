public import Foundation
public import SwitchyardCore
import Synchronization

/// What happened lately that a person watching the gateway wants to see (failovers, circuits opening and
/// closing, credentials revoked or restored, budget alerts), kept in a short ring and pushed to open live feeds.
/// Publishing never blocks a request: a feed that does not keep up loses its oldest unread events.
public final class DashboardEventFeed: Sendable {
    public struct Entry: Sendable {
        public let time: Date
        public let kind: String
        public let text: String

        var json: JSONValue {
            ["time": .string(AccountingRoutes.format(time)), "kind": .string(kind), "text": .string(text)]
        }
    }

    static let kept = 200
    static let maximumSubscribers = 32

    private struct State {
        var recent: [Entry] = []
        var subscribers: [UInt64: AsyncStream<Entry>.Continuation] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func publish(_ event: RoutingObserver.Event) {
        guard let entry = Self.entry(for: event) else { return }
        publish(entry)
    }

    /// An operator alert (budget thresholds and the like), as the webhook would receive it.
    public func publishAlert(_ payload: JSONValue) {
        let kind = payload["event"]?.stringValue ?? payload["type"]?.stringValue ?? "alert"
        let text = payload["message"]?.stringValue ?? String(decoding: payload.jsonBytes.prefix(300), as: UTF8.self)
        publish(Entry(time: Date(), kind: kind, text: text))
    }

    func publish(_ entry: Entry) {
        // Texts carry upstream messages: bounded, so the ring's memory is too.
        let entry = entry.text.utf8.count <= 500 ? entry : Entry(time: entry.time, kind: entry.kind, text: String(entry.text.prefix(500)))
        let subscribers = state.withLock { state in
            state.recent.append(entry)
            if state.recent.count > Self.kept { state.recent.removeFirst(state.recent.count - Self.kept) }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(entry) }
    }

    /// The recent events, oldest first, then each new one as it happens, and a way to end the feed; nil when
    /// too many feeds are open.
    func subscribe() -> (recent: [Entry], stream: AsyncStream<Entry>, stop: @Sendable () -> Void)? {
        let (stream, continuation) = AsyncStream.makeStream(of: Entry.self, bufferingPolicy: .bufferingNewest(Self.kept))
        let registered: (UInt64, [Entry])? = state.withLock { state in
            guard state.subscribers.count < Self.maximumSubscribers else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return (id, state.recent)
        }
        guard let (id, recent) = registered else { return nil }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        return (recent, stream, { continuation.finish() })
    }

    var recent: [Entry] { state.withLock { $0.recent } }

    static func entry(for event: RoutingObserver.Event) -> Entry? {
        let now = Date()
        switch event {
        case .credentialDisabled(let provider, let index, let kind, let message):
            let what = kind == .authFailed ? "revoked" : "out of quota"
            return Entry(time: now, kind: "credential_\(kind == .authFailed ? "revoked" : "quota_exhausted")", text: "\(provider) credential #\(index) \(what): \(message)")
        case .credentialRestored(let provider, let index):
            return Entry(time: now, kind: "credential_restored", text: "\(provider) credential #\(index) usable again")
        case .circuitOpened(let target, let cooldown):
            return Entry(time: now, kind: "circuit_opened", text: "\(target) circuit opened for \(Int(cooldown.seconds)) s")
        case .circuitClosed(let target):
            return Entry(time: now, kind: "circuit_closed", text: "\(target) circuit closed")
        case .attemptFailed(let target, let index, let kind, let status):
            return Entry(
                time: now, kind: "attempt_failed", text: "\(target) (credential #\(index)) failed: \(kind.rawValue)\(status.map { " \($0)" } ?? ""); failing over if a target remains")
        case .targetMisconfigured(let target, let message):
            return Entry(time: now, kind: "target_misconfigured", text: "\(target): \(message)")
        case .attemptCancelled:
            return nil
        }
    }
}
