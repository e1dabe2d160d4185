import Foundation
import HTTPTypes
import Hummingbird
import SwitchyardCore

/// `GET /admin/requests` and `GET /admin/usage`: the request log and its totals, behind the admin key.
struct AccountingRoutes: Sendable {
    let gateway: Gateway

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/admin/requests") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            guard let log = gateway.requestLog else { return AdminRoutes.badRequest("this gateway keeps no request log") }
            let query = request.uri.queryParameters
            var filter = RequestQuery(limit: query["limit"].flatMap { Int(String($0)) } ?? 100)
            filter.keyName = query["key"].map(String.init)
            filter.route = query["route"].map(String.init)
            filter.target = query["target"].map(String.init)
            filter.id = query["id"].map(String.init)
            filter.status = query["status"].flatMap { Int(String($0)) }
            do {
                filter.since = try Self.date(query["since"].map(String.init), name: "since")
                filter.until = try Self.date(query["until"].map(String.init), name: "until")
                filter.before = try Self.date(query["before"].map(String.init), name: "before")
            } catch {
                return AdminRoutes.badRequest("\(error)")
            }
            // What was answered a moment ago is part of the answer: write the queue first.
            await log.flush()
            let records = try await log.store.requests(filter)
            var page: JSONObject = ["requests": .array(records.map(Self.json))]
            if records.count == filter.limit, let last = records.last { page["next_before"] = .string(Self.format(last.time)) }
            return AdminRoutes.json(.object(page))
        }
        router.get("/admin/usage") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            guard let log = gateway.requestLog else { return AdminRoutes.badRequest("this gateway keeps no request log") }
            let query = request.uri.queryParameters
            let grouping = query["group_by"].map(String.init) ?? "key"
            guard let groupBy = UsageQuery.Grouping(rawValue: grouping) else {
                return AdminRoutes.badRequest("group_by must be one of \(UsageQuery.Grouping.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let since: Date
            let until: Date
            do {
                until = try Self.date(query["until"].map(String.init), name: "until") ?? Date()
                since = try Self.date(query["since"].map(String.init), name: "since") ?? until.addingTimeInterval(-30 * 86_400)
            } catch {
                return AdminRoutes.badRequest("\(error)")
            }
            await log.flush()
            let rows = try await log.store.usage(UsageQuery(since: since, until: until, groupBy: groupBy))
            return AdminRoutes.json([
                "since": .string(Self.format(since)), "until": .string(Self.format(until)), "group_by": .string(groupBy.rawValue),
                "usage": .array(
                    rows.map { row in
                        [
                            "group": .string(row.group), "requests": .int(row.requests), "errors": .int(row.errors), "prompt_tokens": .int(row.promptTokens),
                            "completion_tokens": .int(row.completionTokens), "cached_tokens": .int(row.cachedTokens), "cost_usd": .double(row.cost),
                            "unpriced_requests": .int(row.unpricedRequests),
                        ]
                    }),
            ])
        }
    }

    static func json(_ record: RequestRecord) -> JSONValue {
        var object: JSONObject = [
            "id": .string(record.id), "time": .string(format(record.time)), "key": record.keyName.map(JSONValue.string) ?? .null,
            "dialect": .string(record.dialect), "route": record.route.map(JSONValue.string) ?? .null, "target": record.target.map(JSONValue.string) ?? .null,
            "status": .int(record.status), "latency_ms": .int(record.latencyMilliseconds),
            "ttfb_ms": record.timeToFirstByteMilliseconds.map(JSONValue.int) ?? .null, "stream": .bool(record.stream),
            "cost_usd": record.cost.map(JSONValue.double) ?? .null, "usage_estimated": .bool(record.usageEstimated),
        ]
        if let usage = record.usage {
            object["usage"] = [
                "prompt_tokens": .int(usage.promptTokens), "completion_tokens": .int(usage.completionTokens), "cached_tokens": .int(usage.cachedPromptTokens),
                "cache_write_tokens": .int(usage.cacheWritePromptTokens), "reasoning_tokens": .int(usage.reasoningTokens),
            ]
        } else {
            object["usage"] = .null
        }
        object["end_user"] = record.endUser.map(JSONValue.string) ?? .null
        if let body = record.requestBody { object["request_body"] = .string(body) }
        if let body = record.responseBody { object["response_body"] = .string(body) }
        object["attempts"] = .array(
            record.attempts.map { attempt in
                [
                    "target": .string(attempt.target), "credential_index": .int(attempt.credentialIndex),
                    "failure_kind": attempt.failureKind.map(JSONValue.string) ?? .null, "status": attempt.status.map(JSONValue.int) ?? .null,
                    "latency_ms": attempt.latencyMilliseconds.map(JSONValue.int) ?? .null,
                ]
            })
        return .object(object)
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    struct BadDate: Error, CustomStringConvertible {
        let description: String
    }

    /// RFC 3339 (`2025-11-30T12:00:00Z`, fractional seconds allowed), a plain date (`2025-11-30`), or Unix seconds.
    static func date(_ text: String?, name: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        if let seconds = Double(text.prefix(20)), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        let full = ISO8601DateFormatter()
        full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = full.date(from: text) ?? plain.date(from: text) ?? day.date(from: text) { return date }
        throw BadDate(description: "\(name): expected an RFC 3339 time, a date (YYYY-MM-DD) or Unix seconds")
    }
}
