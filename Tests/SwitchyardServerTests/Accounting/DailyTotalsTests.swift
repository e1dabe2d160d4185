import Foundation
import SwitchyardCore
@testable import SwitchyardStorage
import Testing

@Suite("Daily totals")
struct DailyTotalsTests {
    /// The arithmetic day matches the calendar's, across leap years, centuries and the epoch.
    @Test func utcDaysMatchTheCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        var instants: [Double] = [0, -1, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800, 1_796_052_942]
        for _ in 0..<3000 { instants.append(Double(Int64(generator.next() % 8_000_000_000) - 2_000_000_000)) }
        for instant in instants {
            let date = Date(timeIntervalSince1970: instant)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let expected = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            #expect(SQLiteAccountingStore.day(date) == expected, "\(instant)")
        }
    }

    @Test func recordsAddUpPerDayKeyRouteAndTarget() {
        func record(_ id: String, key: String, target: String?, status: Int = 200, at seconds: Double, prompt: Int, cost: Double?) -> RequestRecord {
            RequestRecord(
                id: id, time: Date(timeIntervalSince1970: seconds), keyName: key, dialect: "openai", route: "smart", target: target, attempts: [],
                status: status, latencyMilliseconds: 1, timeToFirstByteMilliseconds: nil, usage: Usage(promptTokens: prompt, completionTokens: 1),
                cost: cost, stream: false)
        }
        let totals = DailyTotal.totals(of: [
            record("a", key: "web", target: "oai/gpt-4o", at: 10, prompt: 5, cost: 0.5),
            record("b", key: "web", target: "oai/gpt-4o", at: 20, prompt: 7, cost: 0.25),
            record("c", key: "web", target: "oai/gpt-4o", status: 503, at: 30, prompt: 0, cost: nil),
            record("d", key: "web", target: "oai/gpt-4o", at: 86_400 + 1, prompt: 1, cost: nil),
            record("e", key: "batch", target: "oai/gpt-4o", at: 40, prompt: 2, cost: 0.1),
        ]).sorted { ($0.day, $0.keyName) < ($1.day, $1.keyName) }
        #expect(totals.map(\.keyName) == ["batch", "web", "web"])
        #expect(totals[1].requests == 3 && totals[1].errors == 1 && totals[1].promptTokens == 12 && totals[1].cost == 0.75 && totals[1].unpriced == 0)
        #expect(totals[2].day == "1970-01-02" && totals[2].unpriced == 1 && totals[2].provider == "oai")
    }
}

@Suite("Request log queries")
struct RequestQueryTests {
    @Test(arguments: StoreBackend.available)
    func oneRequestByIDAndRequestsByTarget(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let store = try await StoreBackend.open(url)
        let records = (0..<30).map { index in
            RequestRecord(
                id: "req_\(index)", time: Date(timeIntervalSince1970: 1_000_000 + Double(index)), keyName: "web", dialect: "openai", route: "smart",
                target: index % 3 == 0 ? "claude/claude-sonnet-4-5" : "oai/gpt-4o", attempts: [], status: 200, latencyMilliseconds: index,
                timeToFirstByteMilliseconds: nil, usage: nil, cost: nil, stream: false)
        }
        try await store.insert(records)
        var byID = RequestQuery(limit: 1)
        byID.id = "req_7"
        #expect(try await store.requests(byID).map(\.latencyMilliseconds) == [7])
        byID.id = "req_missing"
        #expect(try await store.requests(byID).isEmpty)
        var byTarget = RequestQuery(limit: 100)
        byTarget.target = "claude/claude-sonnet-4-5"
        #expect(try await store.requests(byTarget).map(\.id) == stride(from: 27, through: 0, by: -3).map { "req_\($0)" })
        var late = records[0]
        late.id = "req_late"
        late.keyName = "batch"
        late.time = Date(timeIntervalSince1970: 1_000_000 + 3 * 86_400)
        try await store.insert([late])
        #expect(try await store.lastUsedDays() == ["web": "1970-01-12", "batch": "1970-01-15"])
        await store.close()
        await remove()
    }
}

@Suite("Request log bulk writes")
struct BulkInsertTests {
    /// A batch larger than one statement's rows is written whole (several multi-row statements); a record
    /// whose id is already in the log is not written a second time.
    @Test(arguments: StoreBackend.available)
    func aLargeBatchIsWrittenWholeAndDuplicatesAreIgnored(_ backend: StoreBackend) async throws {
        let (url, remove) = try await backend.scratch()
        let store = try await StoreBackend.open(url)
        let count = RequestRow.rowsPerStatement * 2 + 345
        let records = (0..<count).map { index in
            RequestRecord(
                id: "req_\(index)", time: Date(timeIntervalSince1970: 2_000_000 + Double(index % 60)), keyName: index % 2 == 0 ? "web" : nil,
                dialect: "openai", route: "smart", target: "oai/gpt-4o", attempts: [], status: index % 10 == 0 ? 503 : 200, latencyMilliseconds: index,
                timeToFirstByteMilliseconds: index % 3 == 0 ? nil : 5, usage: index % 4 == 0 ? nil : Usage(promptTokens: 3, completionTokens: 2),
                cost: index % 5 == 0 ? nil : 0.001, stream: index % 2 == 1, requestBody: index == 7 ? "{\"q\":\"é\"}" : nil)
        }
        try await store.insert(records)
        let usage = try await store.usage(
            UsageQuery(since: Date(timeIntervalSince1970: 1_999_000), until: Date(timeIntervalSince1970: 2_001_000), groupBy: .key))
        #expect(usage.reduce(0) { $0 + $1.requests } == count)
        #expect(usage.reduce(0) { $0 + $1.errors } == (count + 9) / 10)
        var one = RequestQuery(limit: 5)
        one.id = "req_7"
        let seventh = try #require(try await store.requests(one).first)
        #expect(seventh.requestBody == "{\"q\":\"é\"}" && seventh.stream && seventh.latencyMilliseconds == 7 && seventh.keyName == nil)
        one.id = "req_\(count - 1)"
        #expect(try await store.requests(one).map(\.latencyMilliseconds) == [count - 1])

        var again = records[1_234]
        again.latencyMilliseconds = -1
        try await store.insert([again])
        one.id = again.id
        #expect(try await store.requests(one).map(\.latencyMilliseconds) == [1_234])
        await store.close()
        await remove()
    }
}
