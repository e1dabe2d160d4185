public import Foundation
import Synchronization

/// One answer of the Responses API kept as conversation state (`store: true`), so that a later request
/// may continue it with `previous_response_id` or read it back with `GET /v1/responses/{id}`.
///
/// This is conversation state, not the request log: it is kept whatever the route's `log_bodies` says,
/// and only for the virtual key that created it.
public struct StoredResponse: Sendable, Hashable {
    public var id: String
    /// The virtual key that created it (`nil` when the gateway runs without keys); no other key sees it.
    public var keyName: String?
    public var created: Date
    /// The response object as the client received it (JSON text).
    public var response: String
    /// The conversation's input items up to this response, previous turns included (a JSON array as text):
    /// with the response's output items, what the next turn continues.
    public var inputItems: String

    public init(id: String, keyName: String?, created: Date, response: String, inputItems: String) {
        self.id = id
        self.keyName = keyName
        self.created = created
        self.response = response
        self.inputItems = inputItems
    }

    /// Bytes this entry holds, for stores that cap their size.
    public var size: Int { id.utf8.count + response.utf8.count + inputItems.utf8.count + (keyName?.utf8.count ?? 0) }
}

/// Where Responses API conversation state lives: the gateway's storage (SQLite or PostgreSQL), or memory
/// when it runs without one.
public protocol ResponseStore: Sendable {
    func saveResponse(_ response: StoredResponse) async throws
    func loadResponse(id: String) async throws -> StoredResponse?
    /// - Returns: whether there was such a response.
    func deleteResponse(id: String) async throws -> Bool
    /// Forgets responses created before `date`.
    func pruneResponses(before date: Date) async throws
}

/// Conversation state in memory, for a gateway without storage: bounded in entries and bytes, the oldest
/// forgotten first, and lost on restart.
public final class InMemoryResponseStore: ResponseStore {
    private struct State {
        var entries: [String: StoredResponse] = [:]
        /// Ids in the order they were saved, for eviction (ids of deleted entries are skipped lazily).
        var order: [String] = []
        var orderStart = 0
        var bytes = 0
    }

    private let state = Mutex(State())
    public let maximumEntries: Int
    public let maximumBytes: Int

    public init(maximumEntries: Int = 10_000, maximumBytes: Int = 256 << 20) {
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
    }

    public func saveResponse(_ response: StoredResponse) async throws {
        state.withLock { state in
            if let old = state.entries.updateValue(response, forKey: response.id) {
                state.bytes -= old.size
            } else {
                state.order.append(response.id)
            }
            state.bytes += response.size
            while state.entries.count > maximumEntries || (state.bytes > maximumBytes && state.entries.count > 1) {
                guard state.orderStart < state.order.count else { break }
                let oldest = state.order[state.orderStart]
                state.orderStart += 1
                if oldest != response.id, let evicted = state.entries.removeValue(forKey: oldest) { state.bytes -= evicted.size }
            }
            if state.orderStart > 1024, state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    public func loadResponse(id: String) async throws -> StoredResponse? {
        state.withLock { $0.entries[id] }
    }

    public func deleteResponse(id: String) async throws -> Bool {
        state.withLock { state in
            guard let removed = state.entries.removeValue(forKey: id) else { return false }
            state.bytes -= removed.size
            return true
        }
    }

    public func pruneResponses(before date: Date) async throws {
        state.withLock { state in
            for (id, entry) in state.entries where entry.created < date {
                state.entries[id] = nil
                state.bytes -= entry.size
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
