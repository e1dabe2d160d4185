import Foundation
import SwitchyardCore
import SwitchyardStorage
import Testing

@Suite("Responses conversation state, on every back end")
struct ResponseStoreTests {
    static func entry(_ id: String, key: String?, at seconds: Double, text: String = "hi") -> StoredResponse {
        StoredResponse(
            id: id, keyName: key, created: Date(timeIntervalSince1970: seconds), response: #"{"id":"\#(id)","output":[{"type":"message","content":[{"type":"output_text","text":"\#(text)"}]}]}"#,
            inputItems: #"[{"role":"user","content":"q"}]"#)
    }

    @Test(arguments: StoreBackend.available)
    func savesLoadsDeletesAndPrunes(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let store = try await StoreBackend.open(url)
        let responses = try #require(store as? any ResponseStore)
        try await responses.saveResponse(Self.entry("resp_a", key: "app", at: 1_000))
        try await responses.saveResponse(Self.entry("resp_b", key: nil, at: 2_000))
        #expect(try await responses.loadResponse(id: "resp_a") == Self.entry("resp_a", key: "app", at: 1_000))
        #expect(try await responses.loadResponse(id: "resp_b")?.keyName == nil)
        #expect(try await responses.loadResponse(id: "resp_missing") == nil)
        try await responses.saveResponse(Self.entry("resp_a", key: "app", at: 1_000, text: "again"))
        #expect(try await responses.loadResponse(id: "resp_a")?.response.contains("again") == true)

        #expect(try await responses.deleteResponse(id: "resp_a"))
        #expect(try await !responses.deleteResponse(id: "resp_a"))
        #expect(try await responses.loadResponse(id: "resp_a") == nil)

        try await responses.pruneResponses(before: Date(timeIntervalSince1970: 2_500))
        #expect(try await responses.loadResponse(id: "resp_b") == nil)
        await store.close()
        await remove()
    }

    /// A reopened database still has its conversations (the migration to schema 4 keeps them).
    @Test(arguments: StoreBackend.available)
    func survivesReopening(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let first = try await StoreBackend.open(url)
        try await (first as? any ResponseStore)?.saveResponse(Self.entry("resp_kept", key: "app", at: 5_000))
        await first.close()
        let second = try await StoreBackend.open(url)
        #expect(try await (second as? any ResponseStore)?.loadResponse(id: "resp_kept")?.keyName == "app")
        await second.close()
        await remove()
    }

    @Test func memoryStoreEvictsTheOldestPastItsCaps() async throws {
        let store = InMemoryResponseStore(maximumEntries: 3, maximumBytes: 1 << 20)
        for index in 0..<5 { try await store.saveResponse(Self.entry("resp_\(index)", key: "app", at: Double(index))) }
        #expect(store.count == 3)
        #expect(try await store.loadResponse(id: "resp_1") == nil)
        #expect(try await store.loadResponse(id: "resp_4") != nil)

        let small = InMemoryResponseStore(maximumEntries: 100, maximumBytes: 2 * Self.entry("resp_0", key: "app", at: 0).size)
        for index in 0..<4 { try await small.saveResponse(Self.entry("resp_\(index)", key: "app", at: Double(index))) }
        #expect(small.count == 2)
        #expect(try await small.loadResponse(id: "resp_3") != nil)
        #expect(try await small.loadResponse(id: "resp_0") == nil)
        try await small.pruneResponses(before: Date(timeIntervalSince1970: 10))
        #expect(small.count == 0)
    }
}
