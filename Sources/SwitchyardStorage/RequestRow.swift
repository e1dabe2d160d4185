import Foundation
import SwitchyardCore

/// One row of the `requests` table as both stores write it: its columns, in order, and a record's values
/// for them, so the two stores cannot disagree on the order.
enum RequestRow {
    /// A column's value, typed as both databases store it.
    enum Value {
        case text(String?)
        case integer(Int?)
        case real(Double?)
    }

    static let columns = [
        "id", "time", "key_name", "dialect", "route", "target", "provider", "status", "latency_ms", "ttfb_ms", "prompt_tokens",
        "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "usage_estimated", "stream", "attempts",
        "request_body", "response_body", "end_user",
    ]
    static let columnList = columns.joined(separator: ", ")

    /// Rows per INSERT statement: parsing a statement costs more than binding its values, and each statement is a
    /// round trip (through SQLite's thread pool, or over PostgreSQL's connection). 1,000 rows of 22 values stay
    /// under both databases' bound-parameter limits (32,766 and 65,535).
    static let rowsPerStatement = 1_000

    /// `records` cut into the slices one statement each takes.
    static func statements(_ records: [RequestRecord]) -> [ArraySlice<RequestRecord>] {
        stride(from: 0, to: records.count, by: rowsPerStatement).map { records[$0..<min($0 + rowsPerStatement, records.count)] }
    }

    /// The record's values, in the order of ``columns``.
    static func values(of record: RequestRecord) -> [Value] {
        let usage = record.usage
        return [
            .text(record.id), .real(record.time.timeIntervalSince1970), .text(record.keyName), .text(record.dialect), .text(record.route),
            .text(record.target), .text(SQLiteAccountingStore.provider(of: record.target)), .integer(record.status),
            .integer(record.latencyMilliseconds), .integer(record.timeToFirstByteMilliseconds), .integer(usage?.promptTokens),
            .integer(usage?.completionTokens), .integer(usage?.cachedPromptTokens), .integer(usage?.cacheWritePromptTokens),
            .integer(usage?.reasoningTokens), .real(record.cost), .integer(record.usageEstimated ? 1 : 0), .integer(record.stream ? 1 : 0),
            .text(SQLiteAccountingStore.encode(record.attempts)), .text(record.requestBody), .text(record.responseBody), .text(record.endUser),
        ]
    }
}
