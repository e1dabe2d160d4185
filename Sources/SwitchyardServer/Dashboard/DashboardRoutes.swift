import Foundation
import HTTPTypes
import Logging
import Mustache
import Hummingbird
import NIOCore
import SwitchyardCore

/// `/dashboard`: the admin API for a person, server-rendered. Every page but the login form needs a session
/// (a GET without one is sent to the login page); every form that changes something carries the session's
/// CSRF token; the admin key is only ever read from the login form, never written into a page.
struct DashboardRoutes: Sendable {
    let gateway: Gateway

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/dashboard/assets/style.css") { _, _ in Self.asset(DashboardTemplates.style, type: "text/css; charset=utf-8") }
        router.get("/dashboard/assets/favicon.svg") { _, _ in Self.asset(DashboardTemplates.favicon, type: "image/svg+xml") }
        router.get("/dashboard/assets/events.js") { _, _ in Self.asset(DashboardTemplates.eventsScript, type: "text/javascript; charset=utf-8") }
        router.get("/dashboard/login") { request, _ in
            if session(request) != nil { return Self.redirect("/dashboard") }
            return loginPage(problem: gateway.config.adminKey == nil ? "This gateway has no admin_key in its config, so the dashboard is off." : nil)
        }
        router.post("/dashboard/login") { request, _ in
            let form = await Self.form(request)
            guard let key = form["admin_key"], gateway.isAdmin(authorization: "Bearer " + key) else {
                gateway.logger.notice("Dashboard login refused")
                return loginPage(problem: "That is not the admin key.", status: .unauthorized)
            }
            let settings = gateway.config.dashboard
            let session = gateway.dashboardSessions.start(lifetime: settings.sessionLifetime)
            var response = Self.redirect("/dashboard")
            response.headers[.setCookie] = Self.cookie(session.id, maxAge: Int(settings.sessionLifetime.seconds), secure: settings.secureCookie)
            return response
        }
        router.post("/dashboard/logout") { request, _ in
            guard let session = session(request), await Self.form(request).checks(session) else { return Self.redirect("/dashboard/login") }
            gateway.dashboardSessions.end(session.id)
            var response = Self.redirect("/dashboard/login")
            response.headers[.setCookie] = Self.cookie("", maxAge: 0, secure: gateway.config.dashboard.secureCookie)
            return response
        }
        router.get("/dashboard") { request, _ in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            return try await overview(request, session: session)
        }
        router.get("/dashboard/providers") { request, _ in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            return providersPage(session: session)
        }
        router.post("/dashboard/providers/{provider}/drill") { request, context in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            let form = await Self.form(request)
            guard form.checks(session) else { return Self.forbidden() }
            let provider = context.parameters.get("provider") ?? ""
            let rate = (form["rate_percent"].flatMap(Double.init) ?? 100) / 100
            if let problem = AdminRoutes.startDrill(in: gateway, provider: provider, kind: form["kind"], rate: rate) {
                return providersPage(session: session, problem: problem, status: .badRequest)
            }
            return Self.redirect("/dashboard/providers")
        }
        router.post("/dashboard/providers/{provider}/drill/stop") { request, context in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            guard await Self.form(request).checks(session) else { return Self.forbidden() }
            AdminRoutes.stopDrill(in: gateway, provider: context.parameters.get("provider") ?? "")
            return Self.redirect("/dashboard/providers")
        }
        router.get("/dashboard/keys") { request, _ in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            return try await keysPage(session: session)
        }
        router.post("/dashboard/keys") { request, _ in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            let form = await Self.form(request)
            guard form.checks(session) else { return Self.forbidden() }
            switch try await KeysRoutes.create(Self.keyBody(form), in: gateway) {
            case .done(_, let answer):
                let created: [String: Any] = ["name": answer["name"]?.stringValue ?? "", "secret": answer["key"]?.stringValue ?? ""]
                return try await keysPage(session: session, created: created)
            case .badRequest(let message), .conflict(let message), .notFound(let message):
                return try await keysPage(session: session, problem: message, status: .badRequest)
            }
        }
        router.post("/dashboard/keys/{name}/edit") { request, context in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            let form = await Self.form(request)
            guard form.checks(session) else { return Self.forbidden() }
            let name = context.parameters.get("name") ?? ""
            switch try await KeysRoutes.update(named: name, with: Self.keyChanges(form), in: gateway) {
            case .done: return try await keysPage(session: session, notice: "Key \(name) updated.")
            case .badRequest(let message), .conflict(let message), .notFound(let message):
                return try await keysPage(session: session, problem: message, status: .badRequest)
            }
        }
        router.post("/dashboard/keys/{name}/revoke") { request, context in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            guard await Self.form(request).checks(session) else { return Self.forbidden() }
            let name = context.parameters.get("name") ?? ""
            switch try await KeysRoutes.delete(named: name, in: gateway) {
            case .done: return try await keysPage(session: session, notice: "Key \(name) revoked: it no longer authenticates.")
            case .badRequest(let message), .conflict(let message), .notFound(let message):
                return try await keysPage(session: session, problem: message, status: .badRequest)
            }
        }
        router.get("/dashboard/requests") { request, _ in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            return try await requestsPage(request, session: session)
        }
        router.get("/dashboard/requests/{id}") { request, context in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            return try await requestPage(id: context.parameters.get("id") ?? "", session: session)
        }
        router.get("/dashboard/events") { request, _ in
            guard let session = session(request) else { return Self.redirect("/dashboard/login") }
            return page("events", title: "Live events", session: session, nav: "events")
        }
        router.get("/dashboard/events/stream") { request, _ in
            guard session(request) != nil else { return Self.forbidden() }
            return eventStream()
        }
    }

    // MARK: Pages

    private func loginPage(problem: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var context: [String: Any] = ["title": "Log in", "lifetime": Self.describe(gateway.config.dashboard.sessionLifetime)]
        if let problem { context["problem"] = problem }
        return Self.html("login", context, status: status)
    }

    private func page(
        _ template: String, title: String, session: DashboardSessions.Session, nav: String, extra: [String: Any] = [:], status: HTTPResponse.Status = .ok
    ) -> Response {
        var context = extra
        context["title"] = title
        context["session"] = true
        context["csrf"] = session.csrfToken
        context["nav_\(nav)"] = true
        return Self.html(template, context, status: status)
    }

    private func overview(_ request: Request, session: DashboardSessions.Session) async throws -> Response {
        guard let log = gateway.requestLog else {
            return page("overview", title: "Overview", session: session, nav: "overview", extra: ["problem": "This gateway keeps no request log."])
        }
        let windows: [(name: String, label: String, seconds: Double)] = [("hour", "last hour", 3600), ("day", "last day", 86_400), ("week", "last week", 604_800)]
        let chosen = windows.first { $0.name == request.uri.queryParameters["window"].map(String.init) } ?? windows[1]
        let now = Date()
        let since = now.addingTimeInterval(-chosen.seconds)
        await log.flush()
        let byRoute = try await log.store.usage(UsageQuery(since: since, until: now, groupBy: .route))
        let byProvider = try await log.store.usage(UsageQuery(since: since, until: now, groupBy: .provider))
        let time = UTCTime(unixSeconds: now.timeIntervalSince1970)
        let dayStart = Self.utcDate(year: time.year, month: time.month, day: time.day)
        let monthStart = Self.utcDate(year: time.year, month: time.month, day: 1)
        let today = try await log.store.usage(UsageQuery(since: dayStart, until: now, groupBy: .key)).reduce(0) { $0 + $1.cost }
        let month = try await log.store.usage(UsageQuery(since: monthStart, until: now, groupBy: .key)).reduce(0) { $0 + $1.cost }
        let requests = byRoute.reduce(0) { $0 + $1.requests }
        let errors = byRoute.reduce(0) { $0 + $1.errors }
        let sample = try await log.store.requests(RequestQuery(since: since, until: now, limit: 1000))
        let latencies = sample.map(\.latencyMilliseconds).sorted()
        let firstBytes = sample.compactMap(\.timeToFirstByteMilliseconds).sorted()
        let extra: [String: Any] = [
            "windows": windows.map { ["name": $0.name, "label": $0.label, "current": $0.name == chosen.name] as [String: Any] },
            "totals": [
                "requests": requests, "errors": errors, "rate": Self.decimal(Double(requests) / chosen.seconds, places: 3),
                "error_rate": requests == 0 ? "0%" : Self.decimal(Double(errors) * 100 / Double(requests), places: 1) + "%",
            ] as [String: Any],
            "latency": [
                "p50": Self.percentile(latencies, 0.5), "p99": Self.percentile(latencies, 0.99), "ttfb_p50": Self.percentile(firstBytes, 0.5), "ttfb_p99": Self.percentile(firstBytes, 0.99),
                "failovers": sample.filter { $0.attempts.count > 1 && $0.status < 400 }.count, "sample": sample.count,
            ] as [String: Any],
            "cost_today": Self.decimal(today, places: 4), "cost_month": Self.decimal(month, places: 4),
            "routes_table": Self.usageTable(byRoute, heading: "Route"), "providers_table": Self.usageTable(byProvider, heading: "Provider"),
        ]
        return page("overview", title: "Overview", session: session, nav: "overview", extra: extra)
    }

    private func providersPage(session: DashboardSessions.Session, problem: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let snapshot = gateway.snapshot
        let report = ProviderHealthReport.make(table: snapshot.table, now: snapshot.executor.loop.timeSource.now)
        let drills = gateway.executor.faults.all
        let providers: [[String: Any]] = (report["providers"]?.arrayValue ?? []).map { provider in
            var context = Self.mustache(provider) as? [String: Any] ?? [:]
            if let name = provider["name"]?.stringValue, let drill = drills[name] {
                context["drill"] = ["kind": drill.kind.rawValue, "rate_percent": Self.decimal(drill.rate * 100, places: 0)] as [String: Any]
            }
            return context
        }
        var extra: [String: Any] = ["providers": providers, "kinds": FailureKind.allCases.map(\.rawValue)]
        if let problem { extra["problem"] = problem }
        return page("providers", title: "Providers and credentials", session: session, nav: "providers", extra: extra, status: status)
    }

    private func keysPage(
        session: DashboardSessions.Session, created: [String: Any]? = nil, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let listed = KeysRoutes.list(gateway)["keys"]?.arrayValue ?? []
        // "Last used" is the latest day with traffic in the daily totals (kept past the log's retention).
        var lastUsed: [String: String] = [:]
        if let log = gateway.requestLog {
            await log.flush()
            lastUsed = try await log.store.lastUsedDays()
        }
        let keys: [[String: Any]] = listed.map { key in
            var context = Self.mustache(key) as? [String: Any] ?? [:]
            context["last_used"] = key["name"]?.stringValue.flatMap { lastUsed[$0] } ?? "never"
            context["period_\(key["budget"]?["period"]?.stringValue ?? "month")"] = true
            context["models_field"] = key["models"]?.arrayValue.map { $0.compactMap(\.stringValue).joined(separator: ", ") } ?? ""
            context["managed"] = key["source"]?.stringValue == "managed"
            context["models_text"] = key["models"]?.arrayValue.map { $0.compactMap(\.stringValue).joined(separator: ", ") } ?? "all"
            if let limits = key["limits"], !limits.isNull {
                context["limits_text"] = [limits["rpm"]?.intValue.map { "\($0)/min" }, limits["tpm"]?.intValue.map { "\($0) tokens/min" }]
                    .compactMap { $0 }.joined(separator: ", ")
            }
            return context
        }
        var extra: [String: Any] = ["keys": keys]
        if let created { extra["created"] = created }
        if let notice { extra["notice"] = notice }
        if let problem { extra["problem"] = problem }
        return page("keys", title: "Virtual keys", session: session, nav: "keys", extra: extra, status: status)
    }

    private func requestsPage(_ request: Request, session: DashboardSessions.Session) async throws -> Response {
        guard let log = gateway.requestLog else {
            return page("requests", title: "Request log", session: session, nav: "requests", extra: ["problem": "This gateway keeps no request log."])
        }
        let query = request.uri.queryParameters
        func field(_ name: String) -> String? {
            guard let value = query[name[...]], !value.isEmpty else { return nil }
            return String(value.prefix(200))
        }
        var filter = RequestQuery(limit: 100)
        filter.keyName = field("key")
        filter.route = field("route")
        filter.target = field("target")
        filter.status = field("status").flatMap(Int.init)
        var problem: String?
        do {
            filter.since = try AccountingRoutes.date(field("since"), name: "since")
            filter.until = try AccountingRoutes.date(field("until"), name: "until")
        } catch {
            problem = "\(error)"
        }
        await log.flush()
        let records = problem == nil ? try await log.store.requests(filter) : []
        let filterContext: [String: Any] = ["key": field("key") ?? "", "route": field("route") ?? "", "target": field("target") ?? "",
            "status": field("status") ?? "", "since": field("since") ?? "", "until": field("until") ?? ""]
        var extra: [String: Any] = [
            "filter": filterContext,
            "requests": records.map { record -> [String: Any] in
                var context = Self.mustache(AccountingRoutes.json(record)) as? [String: Any] ?? [:]
                context["attempt_count"] = record.attempts.count
                return context
            },
        ]
        if let problem { extra["problem"] = problem }
        return page("requests", title: "Request log", session: session, nav: "requests", extra: extra, status: problem == nil ? .ok : .badRequest)
    }

    private func requestPage(id: String, session: DashboardSessions.Session) async throws -> Response {
        guard let log = gateway.requestLog else { return Self.redirect("/dashboard/requests") }
        await log.flush()
        var byID = RequestQuery(limit: 1)
        byID.id = String(id.prefix(200))
        guard let record = try await log.store.requests(byID).first else {
            return page("request", title: "Request not found", session: session, nav: "requests", extra: ["problem": "No request \(id) in the log."], status: .notFound)
        }
        var entry = Self.mustache(AccountingRoutes.json(record)) as? [String: Any] ?? [:]
        let total = max(1, record.attempts.reduce(0) { $0 + ($1.latencyMilliseconds ?? 0) })
        var offset = 0
        entry["attempts"] = record.attempts.enumerated().map { index, attempt -> [String: Any] in
            let latency = attempt.latencyMilliseconds ?? 0
            let x = 270 + offset * 360 / total
            let width = max(2, latency * 360 / total)
            offset += latency
            return [
                "number": index + 1, "target": attempt.target, "credential_index": attempt.credentialIndex, "failure_kind": attempt.failureKind ?? "ok",
                "outcome": attempt.failureKind ?? "answered", "latency_ms": latency,
                // The log keeps a status for failed attempts; the one that answered gave the request's.
                "status": (attempt.status ?? (attempt.failureKind == nil && index == record.attempts.count - 1 ? record.status : nil)).map(String.init) ?? "",
                "x": x, "y": 4 + index * 24, "text_y": 17 + index * 24, "width": width, "color": attempt.failureKind == nil ? "#3b8a4a" : "#b54545",
            ]
        }
        entry["timeline_height"] = 8 + record.attempts.count * 24
        return page("request", title: "Request \(record.id)", session: session, nav: "requests", extra: ["entry": entry])
    }

    private func eventStream() -> Response {
        guard let (recent, stream, stop) = gateway.events.subscribe() else {
            return Response(status: .tooManyRequests, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "too many live feeds open")))
        }
        let drain = gateway.drain
        // The feed never ends by itself: it stops when the gateway starts draining, so shutdown is not held up.
        Task {
            await drain.waitUntilDraining()
            stop()
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for entry in recent { try await writer.write(ByteBuffer(string: "data: " + String(decoding: entry.json.jsonBytes, as: UTF8.self) + "\n\n")) }
                for await entry in stream {
                    try await writer.write(ByteBuffer(string: "data: " + String(decoding: entry.json.jsonBytes, as: UTF8.self) + "\n\n"))
                }
                try await writer.finish(nil)
            })
    }

    // MARK: Helpers

    private func session(_ request: Request) -> DashboardSessions.Session? {
        gateway.dashboardSessions.session(cookieHeader: request.headers[.cookie])
    }

    static func html(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let text = DashboardTemplates.library.render(context, withTemplate: template) ?? ""
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static let securityHeaders: HTTPFields = {
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return headers
    }()

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func forbidden() -> Response {
        html("login", ["title": "Forbidden", "problem": "The form was stale or not from this dashboard (CSRF check failed). Reload the page and try again."], status: .forbidden)
    }

    static func cookie(_ value: String, maxAge: Int, secure: Bool) -> String {
        "\(DashboardSessions.cookieName)=\(value); Path=/dashboard; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// A URL-encoded form body (at most 64 KiB and 64 fields).
    static func form(_ request: Request) async -> DashboardForm {
        guard let body = try? await request.body.collect(upTo: 64 << 10) else { return DashboardForm(fields: [:]) }
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&").prefix(64) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return DashboardForm(fields: fields)
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The admin API's body for a key made from the dashboard's form.
    static func keyBody(_ form: DashboardForm) -> JSONValue {
        var body: JSONObject = ["name": .string(form["name"]?.trimmingCharacters(in: .whitespaces) ?? "")]
        let models = (form["models"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !models.isEmpty { body["models"] = .array(models.map(JSONValue.string)) }
        if let usd = form["budget_usd"].flatMap(Double.init), usd > 0 {
            body["budget"] = ["usd": .double(usd), "period": .string(form["budget_period"] ?? "month")]
        }
        return .object(body)
    }

    /// The admin API's PATCH body from the dashboard's edit form: every field is sent, so what the form shows
    /// is what the key gets (an empty budget removes it, empty models allow every route).
    static func keyChanges(_ form: DashboardForm) -> JSONValue {
        var body: JSONObject = [:]
        let models = (form["models"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        body["models"] = models.isEmpty ? .null : .array(models.map(JSONValue.string))
        if let usd = form["budget_usd"].flatMap(Double.init), usd > 0 {
            body["budget"] = ["usd": .double(usd), "period": .string(form["budget_period"] ?? "month")]
        } else {
            body["budget"] = .null
        }
        body["disabled"] = .bool(form["disabled"] != nil)
        return .object(body)
    }

    /// JSON as Mustache reads it; numbers stay the text the admin API writes, so both show the same figures.
    static func mustache(_ value: JSONValue) -> Any {
        switch value {
        case .null: return false
        case .bool(let flag): return flag
        case .number(let text): return text
        case .string(let text): return text
        case .array(let items): return items.map(mustache)
        case .object(let object):
            var dictionary: [String: Any] = [:]
            for (key, member) in object where !member.isNull { dictionary[key] = mustache(member) }
            return dictionary
        }
    }

    static func usageTable(_ rows: [UsageRow], heading: String) -> [String: Any] {
        let largest = rows.map(\.cost).max() ?? 0
        return [
            "heading": heading,
            "rows": rows.map { row -> [String: Any] in
                [
                    "group": row.group.isEmpty ? "(none)" : row.group, "requests": row.requests, "errors": row.errors, "prompt_tokens": row.promptTokens,
                    "completion_tokens": row.completionTokens, "cost_usd": decimal(row.cost, places: 6),
                    "bar": largest > 0 ? Int((row.cost / largest * 120).rounded()) : 0,
                ]
            },
        ]
    }

    static func percentile(_ sorted: [Int], _ fraction: Double) -> String {
        guard !sorted.isEmpty else { return "–" }
        return String(sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))])
    }

    static func decimal(_ value: Double, places: Int) -> String {
        String(format: "%.\(places)f", value)
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Int(duration.seconds)
        return seconds % 3600 == 0 ? "\(seconds / 3600) h" : "\(seconds / 60) min"
    }

    static func utcDate(year: Int, month: Int, day: Int) -> Date {
        var components = DateComponents()
        (components.year, components.month, components.day) = (year, month, day)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components) ?? Date()
    }
}

/// A submitted form's fields.
struct DashboardForm: Sendable {
    let fields: [String: String]

    subscript(name: String) -> String? { fields[name] }

    /// Whether the form carries `session`'s CSRF token.
    func checks(_ session: DashboardSessions.Session) -> Bool {
        guard let token = fields["csrf"] else { return false }
        return DashboardSessions.constantTimeEquals(token, session.csrfToken)
    }
}
