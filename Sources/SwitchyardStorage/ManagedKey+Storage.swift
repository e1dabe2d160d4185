import Foundation
import SwitchyardCore

/// How a managed key's models, limits and budget are kept in a row (JSON text), the same in every store.
extension ManagedKey {
    var encodedFields: (models: String?, limits: String?, budget: String?) {
        let models = self.models.map { JSONValue.array($0.map(JSONValue.string)).jsonString }
        let limits = self.limits.map { limits -> String in
            var object = JSONObject()
            if let rpm = limits.requestsPerMinute { object["rpm"] = .int(rpm) }
            if let tpm = limits.tokensPerMinute { object["tpm"] = .int(tpm) }
            return JSONValue.object(object).jsonString
        }
        let budget = self.budget.map { budget -> String in
            var object: JSONObject = ["usd": .double(budget.usd), "period": .string(budget.period.rawValue)]
            if let share = budget.alertAt { object["alert_at"] = .double(share) }
            return JSONValue.object(object).jsonString
        }
        return (models, limits, budget)
    }

    static func decoded(name: String, digest: SecretDigest, models: String?, limits: String?, budget: String?, disabled: Bool, created: Double) -> ManagedKey {
        let modelList = models.flatMap { try? JSONParser.parse($0) }?.arrayValue?.compactMap(\.stringValue)
        let keyLimits = limits.flatMap { try? JSONParser.parse($0) }.map { json in
            KeyLimits(requestsPerMinute: json["rpm"]?.intValue, tokensPerMinute: json["tpm"]?.intValue)
        }
        let keyBudget = budget.flatMap { try? JSONParser.parse($0) }.flatMap { json -> KeyBudget? in
            guard let usd = json["usd"]?.doubleValue else { return nil }
            return KeyBudget(usd: usd, period: json["period"]?.stringValue.flatMap(KeyBudget.Period.init(rawValue:)) ?? .month, alertAt: json["alert_at"]?.doubleValue)
        }
        return ManagedKey(
            name: name, digest: digest, models: modelList, limits: keyLimits, budget: keyBudget, disabled: disabled, created: Date(timeIntervalSince1970: created))
    }
}

/// How request-log fields are kept in a row, the same in every store.
extension UsageQuery.Grouping {
    /// The `daily_usage` column this grouping totals by.
    var column: String {
        switch self {
        case .key: "key_name"
        case .route: "route"
        case .target: "target"
        case .provider: "provider"
        case .day: "day"
        }
    }
}

extension RequestRecord.Attempt {
    /// The attempts of one entry from their JSON text.
    static func decodeList(_ text: String) -> [RequestRecord.Attempt] {
        ((try? JSONParser.parse(text))?.arrayValue ?? []).map { item in
            RequestRecord.Attempt(
                target: item["target"]?.stringValue ?? "", credentialIndex: item["credential_index"]?.intValue ?? 0,
                failureKind: item["failure_kind"]?.stringValue, status: item["status"]?.intValue, latencyMilliseconds: item["latency_ms"]?.intValue)
        }
    }
}

/// One `daily_usage` row's increment: a batch's records added up per day, key, route and target.
struct DailyTotal {
    var day: String
    var keyName: String
    var route: String
    var target: String
    var provider: String
    var requests = 0
    var errors = 0
    var promptTokens = 0
    var completionTokens = 0
    var cachedTokens = 0
    var cost = 0.0
    var unpriced = 0

    static func totals(of records: some Sequence<RequestRecord>) -> [DailyTotal] {
        var totals: [String: DailyTotal] = [:]
        for record in records {
            let day = SQLiteAccountingStore.day(record.time)
            let (keyName, route, target) = (record.keyName ?? "", record.route ?? "", record.target ?? "")
            let group = "\(day)\u{0}\(keyName)\u{0}\(route)\u{0}\(target)"
            var total = totals[group] ?? DailyTotal(day: day, keyName: keyName, route: route, target: target, provider: SQLiteAccountingStore.provider(of: record.target) ?? "")
            total.requests += 1
            if record.status >= 400 { total.errors += 1 }
            total.promptTokens += record.usage?.promptTokens ?? 0
            total.completionTokens += record.usage?.completionTokens ?? 0
            total.cachedTokens += record.usage?.cachedPromptTokens ?? 0
            total.cost += record.cost ?? 0
            if record.cost == nil && record.status < 400 { total.unpriced += 1 }
            totals[group] = total
        }
        return Array(totals.values)
    }
}
