import Atomics
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore

extension Gateway {
    /// Puts `keys` in force (with usage states that outlive the change).
    func installManagedKeys(_ keys: [ManagedKey]) {
        let states = builder.keyStates.states(for: keys.map(\.name))
        managedKeys.store(ManagedKeysBox(ManagedKeyTable(keys), states: states), ordering: .releasing)
    }

    var managedKeyStore: (any ManagedKeyStore)? { requestLog?.store as? any ManagedKeyStore }
}

/// `/admin/keys`: virtual keys created, changed and revoked at run time. Config keys are listed read-only.
struct KeysRoutes: Sendable {
    let gateway: Gateway

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/admin/keys") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            return AdminRoutes.json(Self.list(gateway))
        }
        router.post("/admin/keys") { request, _ in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            let body = try? JSONParser.parse(try await request.body.collect(upTo: 64 << 10).readableBytesView)
            return Self.response(try await Self.create(body ?? [:], in: gateway))
        }
        router.patch("/admin/keys/{name}") { request, context in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            let body = (try? JSONParser.parse(try await request.body.collect(upTo: 64 << 10).readableBytesView)) ?? [:]
            return Self.response(try await Self.update(named: context.parameters.get("name") ?? "", with: body, in: gateway))
        }
        router.delete("/admin/keys/{name}") { request, context in
            guard gateway.isAdmin(authorization: request.headers[.authorization]) else { return AdminRoutes.unauthorized() }
            return Self.response(try await Self.delete(named: context.parameters.get("name") ?? "", in: gateway))
        }
    }

    /// What creating or deleting a key came to, for the admin API and the dashboard alike.
    enum Change {
        case done(status: HTTPResponse.Status, JSONValue)
        case badRequest(String)
        case conflict(String)
        case notFound(String)
    }

    static func response(_ change: Change) -> Response {
        switch change {
        case .done(let status, let json):
            Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.jsonBytes)))
        case .badRequest(let message): AdminRoutes.badRequest(message)
        case .conflict(let message): conflict(message)
        case .notFound(let name): notFound(name)
        }
    }

    /// Every key: the config's (read-only) and the managed ones.
    static func list(_ gateway: Gateway) -> JSONValue {
        let table = gateway.table
        var keys: [JSONValue] = table.config.keys.map { key in
            json(key.name, key.models, key.limits, key.budget, disabled: false, source: "config", state: table.keyStates[key.name], created: nil)
        }
        let managed = gateway.managedKeys.load(ordering: .acquiring)
        for key in managed.table.byName.values.sorted(by: { $0.name < $1.name }) {
            keys.append(json(key.name, key.models, key.limits, key.budget, disabled: key.disabled, source: "managed", state: managed.states[key.name], created: key.created))
        }
        return ["keys": .array(keys)]
    }

    /// Creates a managed key from `{name, models?, budget?, limits?}`; the answer carries the secret, once.
    static func create(_ body: JSONValue, in gateway: Gateway) async throws -> Change {
        guard let store = gateway.managedKeyStore else { return .badRequest("managed keys need storage") }
        guard let name = body["name"]?.stringValue, isValidName(name) else {
            return .badRequest("expected {\"name\": [A-Za-z0-9._-]{1,64}, \"models\"?: [...], \"budget\"?: {...}, \"limits\"?: {...}}")
        }
        let managed = gateway.managedKeys.load(ordering: .acquiring).table
        guard !gateway.table.config.keys.contains(where: { $0.name == name }), managed.byName[name] == nil else {
            return .conflict("a key named '\(name)' exists")
        }
        let fields: (models: [String]?, limits: KeyLimits?, budget: KeyBudget?)
        do { fields = try readFields(body, current: nil) } catch { return .badRequest("\(error)") }
        let secret = ManagedKey.newSecret()
        let key = ManagedKey(name: name, digest: SecretDigest(secret), models: fields.models, limits: fields.limits, budget: fields.budget)
        try await store.saveKey(key)
        gateway.installManagedKeys(Array(managed.byName.values) + [key])
        var answer = json(key.name, key.models, key.limits, key.budget, disabled: false, source: "managed", state: nil, created: key.created).objectValue ?? [:]
        answer["key"] = .string(secret)  // shown this once; only its digest is kept
        return .done(status: .created, .object(answer))
    }

    /// Changes a managed key's `models`, `limits`, `budget` or `disabled` (a field absent keeps its value).
    static func update(named name: String, with body: JSONValue, in gateway: Gateway) async throws -> Change {
        guard let store = gateway.managedKeyStore else { return .badRequest("managed keys need storage") }
        if gateway.table.config.keys.contains(where: { $0.name == name }) { return .conflict("'\(name)' is a config key: change it in the config") }
        let managed = gateway.managedKeys.load(ordering: .acquiring).table
        guard var key = managed.byName[name] else { return .notFound(name) }
        do {
            let fields = try readFields(body, current: key)
            key.models = fields.models
            key.limits = fields.limits
            key.budget = fields.budget
            if let disabled = body["disabled"] {
                guard let flag = disabled.boolValue else { throw BadField(description: "disabled: expected true or false") }
                key.disabled = flag
            }
        } catch {
            return .badRequest("\(error)")
        }
        try await store.saveKey(key)
        gateway.installManagedKeys(managed.byName.values.filter { $0.name != name } + [key])
        return .done(status: .ok, json(key.name, key.models, key.limits, key.budget, disabled: key.disabled, source: "managed", state: nil, created: key.created))
    }

    /// Deletes a managed key: from this moment it no longer authenticates.
    static func delete(named name: String, in gateway: Gateway) async throws -> Change {
        guard let store = gateway.managedKeyStore else { return .badRequest("managed keys need storage") }
        if gateway.table.config.keys.contains(where: { $0.name == name }) { return .conflict("'\(name)' is a config key: remove it from the config") }
        let managed = gateway.managedKeys.load(ordering: .acquiring).table
        guard managed.byName[name] != nil else { return .notFound(name) }
        try await store.deleteKey(named: name)
        gateway.installManagedKeys(managed.byName.values.filter { $0.name != name })
        return .done(status: .ok, ["deleted": .string(name)])
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    struct BadField: Error, CustomStringConvertible {
        let description: String
    }

    /// `models`, `limits` and `budget` from a request body; a field absent keeps `current`'s, `null` clears it.
    static func readFields(_ body: JSONValue, current: ManagedKey?) throws -> (models: [String]?, limits: KeyLimits?, budget: KeyBudget?) {
        var models = current?.models
        var limits = current?.limits
        var budget = current?.budget
        if let value = body["models"] {
            if value.isNull { models = nil } else {
                guard let list = value.arrayValue?.compactMap(\.stringValue), list.count == value.arrayValue?.count, list.count <= 1000 else {
                    throw BadField(description: "models: expected a list of route or target names")
                }
                models = list
            }
        }
        if let value = body["limits"] {
            if value.isNull { limits = nil } else {
                let rpm = value["rpm"]?.intValue
                let tpm = value["tpm"]?.intValue
                guard rpm.map({ $0 >= 1 }) ?? true, tpm.map({ $0 >= 1 }) ?? true, rpm != nil || tpm != nil else {
                    throw BadField(description: "limits: expected {\"rpm\": n ≥ 1, \"tpm\": n ≥ 1}")
                }
                limits = KeyLimits(requestsPerMinute: rpm, tokensPerMinute: tpm)
            }
        }
        if let value = body["budget"] {
            if value.isNull { budget = nil } else {
                guard let usd = value["usd"]?.doubleValue, usd >= 0, usd.isFinite else { throw BadField(description: "budget: needs usd ≥ 0") }
                let period = try value["period"].map { period -> KeyBudget.Period in
                    guard let parsed = period.stringValue.flatMap(KeyBudget.Period.init(rawValue:)) else { throw BadField(description: "budget.period: expected day, week, month or total") }
                    return parsed
                } ?? .month
                var share: Double?
                if let alert = value["alert_at"] {
                    let text = alert.stringValue ?? alert.doubleValue.map { String($0) } ?? ""
                    share = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
                    guard let value = share, value > 0, value <= 1 else { throw BadField(description: "budget.alert_at: expected 80% or 0.8") }
                }
                budget = KeyBudget(usd: usd, period: period, alertAt: share)
            }
        }
        return (models, limits, budget)
    }

    static func json(
        _ name: String, _ models: [String]?, _ limits: KeyLimits?, _ budget: KeyBudget?, disabled: Bool, source: String, state: KeyState?, created: Date?
    ) -> JSONValue {
        var object: JSONObject = ["name": .string(name), "source": .string(source), "disabled": .bool(disabled)]
        object["models"] = models.map { .array($0.map(JSONValue.string)) } ?? .null
        object["limits"] = limits.map { limits in
            ["rpm": limits.requestsPerMinute.map(JSONValue.int) ?? .null, "tpm": limits.tokensPerMinute.map(JSONValue.int) ?? .null]
        } ?? .null
        if let budget {
            var budgetJSON: JSONObject = ["usd": .double(budget.usd), "period": .string(budget.period.rawValue), "alert_at": budget.alertAt.map(JSONValue.double) ?? .null]
            if let state { budgetJSON["spent_usd"] = .double(state.committed(budget: budget)) }
            object["budget"] = .object(budgetJSON)
        } else {
            object["budget"] = .null
        }
        if let created { object["created"] = .string(AccountingRoutes.format(created)) }
        return .object(object)
    }

    static func conflict(_ message: String) -> Response {
        Response(status: .conflict, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: (["error": ["message": .string(message)]] as JSONValue).jsonBytes)))
    }

    static func notFound(_ name: String) -> Response {
        Response(status: .notFound, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: (["error": ["message": .string("no managed key named '\(name)'")]] as JSONValue).jsonBytes)))
    }
}
