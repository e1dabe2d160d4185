import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
@testable import SwitchyardServer
import SwitchyardSimulator
import Testing

/// The dashboard over real HTTP against a gateway with traffic through simulated vendors: login and
/// sessions, CSRF, escaping, and pages that show the admin API's numbers.
@Suite("Dashboard")
struct DashboardTests {
    static let adminKey = "admin-key-0123456789"
    static let admin = ["authorization": "Bearer \(adminKey)"]

    static func config(extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin_key: \(adminKey)
        storage: "sqlite::memory:"
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
          oai: {type: openai, base_url: "http://127.0.0.1:{{oai}}/v1", keys: [sk-openai-key-123456]}
        models:
          "<script>alert(1)</script>": claude/claude-sonnet-4-5
          resilient: {targets: [oai/gpt-4o, claude/claude-sonnet-4-5]}
        routing: {attempts: 3, backoff: {base: 1ms, max: 2ms}}
        keys:
          - {name: web, key: test-key}
        \(extra)
        """
    }

    static let chat: JSONValue = ["model": "resilient", "messages": [["role": "user", "content": "hi"]]]

    @Test func everyPageNeedsALoginAndTheAdminAPIStillNeedsItsKey() async throws {
        try await LiveGateway.run(vendors: [], config: Self.config().replacingOccurrences(of: "{{claude}}", with: "9").replacingOccurrences(of: "{{oai}}", with: "9")) {
            gateway in
            for path in ["/dashboard", "/dashboard/providers", "/dashboard/keys", "/dashboard/requests", "/dashboard/requests/x", "/dashboard/events"] {
                let page = try await gateway.dashboard(.GET, path)
                #expect(page.status == 303, "\(path)")
                #expect(page.headers.first(name: "location") == "/dashboard/login", "\(path)")
            }
            for path in ["/dashboard/keys", "/dashboard/keys/web/revoke", "/dashboard/providers/oai/drill", "/dashboard/logout"] {
                #expect(try await gateway.dashboard(.POST, path, form: "name=x").status == 303, "\(path)")
            }
            #expect(try await gateway.dashboard(.GET, "/dashboard/events/stream").status == 403)
            let session = try await gateway.logIn()
            // A dashboard session is not an admin credential.
            #expect(try await gateway.dashboard(.GET, "/admin/providers", cookie: session.cookie).status == 401)
        }
    }

    @Test func loginSetsAStrictHttpOnlyCookieAndTheKeyNeverReachesAPage() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config()) { gateway in
            let refused = try await gateway.dashboard(.POST, "/dashboard/login", form: "admin_key=wrong")
            #expect(refused.status == 401)
            #expect(refused.headers.first(name: "set-cookie") == nil)
            let login = try await gateway.dashboard(.POST, "/dashboard/login", form: "admin_key=\(Self.adminKey)")
            #expect(login.status == 303 && login.headers.first(name: "location") == "/dashboard")
            let cookie = try #require(login.headers.first(name: "set-cookie"))
            #expect(cookie.hasPrefix("switchyard_session="))
            for flag in ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age=28800"] { #expect(cookie.contains(flag), "\(flag)") }
            #expect(!cookie.contains("Secure"))
            let session = try await gateway.logIn()
            _ = try await gateway.post("/v1/chat/completions", json: Self.chat)
            for path in ["/dashboard/login", "/dashboard", "/dashboard/providers", "/dashboard/keys", "/dashboard/requests", "/dashboard/events"] {
                let page = try await gateway.dashboard(.GET, path, cookie: session.cookie)
                #expect(page.status == 200 || path == "/dashboard/login", "\(path)")
                #expect(!page.body.contains(Self.adminKey), "\(path)")
                #expect(page.headers.first(name: "content-security-policy")?.contains("default-src 'none'") == true, "\(path)")
                #expect(page.headers.first(name: "cache-control") == "no-store", "\(path)")
            }
        }
        try await LiveGateway.run(vendors: [], config: Self.config(extra: "dashboard: {secure_cookie: true, session_lifetime: 30m}").replacingOccurrences(of: "{{claude}}", with: "9").replacingOccurrences(of: "{{oai}}", with: "9")) { gateway in
            let login = try await gateway.dashboard(.POST, "/dashboard/login", form: "admin_key=\(Self.adminKey)")
            let cookie = try #require(login.headers.first(name: "set-cookie"))
            #expect(cookie.hasSuffix("; Secure") && cookie.contains("Max-Age=1800"))
        }
    }

    @Test func formsThatChangeSomethingNeedTheSessionsCSRFToken() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config()) { gateway in
            let session = try await gateway.logIn()
            let other = try await gateway.logIn()
            for token in ["", "csrf=\(other.csrf)&", "csrf=0&"] {
                let forged = try await gateway.dashboard(.POST, "/dashboard/keys", form: "\(token)name=forged", cookie: session.cookie)
                #expect(forged.status == 403)
            }
            #expect(try await gateway.send(.GET, "/admin/keys", headers: Self.admin).body.contains("forged") == false)
            let drill = try await gateway.dashboard(.POST, "/dashboard/providers/oai/drill", form: "kind=overloaded&rate_percent=100", cookie: session.cookie)
            #expect(drill.status == 403)
            #expect(try await gateway.send(.GET, "/admin/faults", headers: Self.admin).json?["faults"]?.arrayValue?.isEmpty == true)

            // With the token: the key is created, its secret shown once, and it works until revoked.
            let created = try await gateway.dashboard(.POST, "/dashboard/keys", form: "csrf=\(session.csrf)&name=app&models=resilient&budget_usd=5", cookie: session.cookie)
            #expect(created.status == 200)
            let secret = try #require(created.body.firstMatch(of: /<code>(sk-[A-Za-z0-9_-]+)<\/code>/).map { String($0.1) })
            let listed = try await gateway.send(.GET, "/admin/keys", headers: Self.admin).json?["keys"]?.arrayValue ?? []
            let app = try #require(listed.first { $0["name"]?.stringValue == "app" })
            #expect(app["models"] == ["resilient"] && app["budget"]?["usd"]?.doubleValue == 5)
            #expect(!(try await gateway.dashboard(.GET, "/dashboard/keys", cookie: session.cookie).body.contains(secret)), "shown once")
            #expect(try await gateway.post("/v1/chat/completions", json: Self.chat, key: secret).status == 200)
            let keysPage = try await gateway.dashboard(.GET, "/dashboard/keys", cookie: session.cookie).body
            // The key was used once: its row shows when, where the unused config key shows "never".
            let appRow = try #require(keysPage.firstMatch(of: /<tr><td>app<\/td>([\s\S]*?)<\/tr>/).map { String($0.1) })
            #expect(appRow.contains(/<td>\d{4}-\d\d-\d\d<\/td>/) && !appRow.contains("<td>never</td>"))
            #expect(try #require(keysPage.firstMatch(of: /<tr><td>web<\/td>([\s\S]*?)<\/tr>/)).1.contains("<td>never</td>"))
            // Editing through the form changes what the admin API reports; disabling it refuses the key.
            let edited = try await gateway.dashboard(
                .POST, "/dashboard/keys/app/edit", form: "csrf=\(session.csrf)&models=resilient&budget_usd=7&budget_period=day&disabled=on", cookie: session.cookie)
            #expect(edited.status == 200 && edited.body.contains("updated"))
            let after = try await gateway.send(.GET, "/admin/keys", headers: Self.admin).json?["keys"]?.arrayValue?.first { $0["name"]?.stringValue == "app" }
            #expect(after?["budget"]?["usd"]?.doubleValue == 7 && after?["budget"]?["period"]?.stringValue == "day" && after?["disabled"] == .bool(true))
            #expect(try await gateway.post("/v1/chat/completions", json: Self.chat, key: secret).status != 200)
            #expect(try await gateway.dashboard(.POST, "/dashboard/keys/app/edit", form: "models=x", cookie: session.cookie).status == 403)
            let revoked = try await gateway.dashboard(.POST, "/dashboard/keys/app/revoke", form: "csrf=\(session.csrf)", cookie: session.cookie)
            #expect(revoked.status == 200 && revoked.body.contains("revoked"))
            #expect(try await gateway.post("/v1/chat/completions", json: Self.chat, key: secret).status == 401)

            // A drill started from the page fails the provider's attempts, as the admin API's does.
            let started = try await gateway.dashboard(.POST, "/dashboard/providers/oai/drill", form: "csrf=\(session.csrf)&kind=overloaded&rate_percent=100", cookie: session.cookie)
            #expect(started.status == 303)
            let faults = try await gateway.send(.GET, "/admin/faults", headers: Self.admin).json
            #expect(faults?["faults"]?[0]?["provider"]?.stringValue == "oai" && faults?["faults"]?[0]?["rate"]?.doubleValue == 1)
            #expect(try await gateway.post("/v1/chat/completions", json: Self.chat).headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")
            _ = try await gateway.dashboard(.POST, "/dashboard/providers/oai/drill/stop", form: "csrf=\(session.csrf)", cookie: session.cookie)
            #expect(try await gateway.send(.GET, "/admin/faults", headers: Self.admin).json?["faults"]?.arrayValue?.isEmpty == true)

            // Logging out ends the session: its cookie opens nothing any more.
            let logout = try await gateway.dashboard(.POST, "/dashboard/logout", form: "csrf=\(session.csrf)", cookie: session.cookie)
            #expect(logout.headers.first(name: "set-cookie")?.contains("Max-Age=0") == true)
            #expect(try await gateway.dashboard(.GET, "/dashboard", cookie: session.cookie).status == 303)
            #expect(try await gateway.dashboard(.GET, "/dashboard", cookie: other.cookie).status == 200)
        }
    }

    @Test func pagesShowTheAdminAPIsNumbersAndEscapeWhatUsersControl() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config()) { gateway in
            for _ in 0..<3 { _ = try await gateway.post("/v1/chat/completions", json: Self.chat) }
            oai.enqueue(.error(status: 503, body: ["error": ["message": "<b>down</b>", "type": "server_error", "param": .null, "code": .null]]))
            let failedOver = try await gateway.post("/v1/chat/completions", json: Self.chat)
            #expect(failedOver.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")
            _ = try await gateway.post("/v1/chat/completions", json: ["model": "<script>alert(1)</script>", "messages": [["role": "user", "content": "hi"]]])
            let session = try await gateway.logIn()

            let usage = try await gateway.send(.GET, "/admin/usage?group_by=route", headers: Self.admin).json?["usage"]?.arrayValue ?? []
            let overview = try await gateway.dashboard(.GET, "/dashboard", cookie: session.cookie).body
            let total = usage.compactMap { $0["requests"]?.intValue }.reduce(0, +)
            #expect(total == 5)
            #expect(overview.contains(#"<span class="value">\#(total)</span>"#))
            #expect(overview.contains("<td>resilient</td><td>4</td>"))
            #expect(overview.contains(#"<span class="value">1</span><span class="muted">answered after another target failed"#))

            let report = try await gateway.send(.GET, "/admin/providers", headers: Self.admin).json
            let providersPage = try await gateway.dashboard(.GET, "/dashboard/providers", cookie: session.cookie).body
            for provider in report?["providers"]?.arrayValue ?? [] {
                for target in provider["targets"]?.arrayValue ?? [] {
                    let name = target["target"]?.stringValue ?? ""
                    let row = "<td>\(name)</td><td>\(target["state"]?.stringValue ?? "")</td><td>\(target["successes"]?.intValue ?? -1)</td><td>\(target["failures"]?.intValue ?? -1)</td>"
                    #expect(providersPage.contains(row), "\(row)")
                }
            }

            let log = try await gateway.send(.GET, "/admin/requests?limit=10", headers: Self.admin).json?["requests"]?.arrayValue ?? []
            let requestsPage = try await gateway.dashboard(.GET, "/dashboard/requests", cookie: session.cookie).body
            for entry in log { #expect(requestsPage.contains(entry["id"]?.stringValue ?? "-"), "every logged request is listed") }
            let failedID = try #require(log.first { ($0["attempts"]?.arrayValue?.count ?? 0) == 2 }?["id"]?.stringValue)
            let detail = try await gateway.dashboard(.GET, "/dashboard/requests/\(failedID)", cookie: session.cookie).body
            #expect(detail.contains("<td>1</td><td>oai/gpt-4o</td><td>0</td><td>overloaded</td><td>503</td>"))
            #expect(detail.contains("<td>2</td><td>claude/claude-sonnet-4-5</td><td>0</td><td>answered</td><td>200</td>"))
            let filtered = try await gateway.dashboard(.GET, "/dashboard/requests?target=oai%2Fgpt-4o", cookie: session.cookie).body
            #expect(filtered.components(separatedBy: "<a href=\"/dashboard/requests/req_").count - 1 == 3)

            // Names and text users or upstreams control are escaped wherever they appear.
            let echoed = try await gateway.dashboard(.GET, "/dashboard/requests?route=%3Cscript%3Ealert(1)%3C%2Fscript%3E", cookie: session.cookie).body
            for page in [overview, requestsPage, echoed, providersPage] {
                #expect(!page.contains("<script>alert"))
            }
            #expect(overview.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(echoed.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""))
        }
    }

    @Test func theLiveFeedShowsFailoversAsTheyHappenAndEndsAtShutdown() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let oai = SimulatedVendor(name: "oai", format: .openai)
        try await LiveGateway.run(vendors: [claude, oai], config: Self.config()) { gateway in
            let session = try await gateway.logIn()
            var request = HTTPClientRequest(url: gateway.baseURL + "/dashboard/events/stream")
            request.headers.add(name: "cookie", value: session.cookie)
            let response = try await gateway.client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok && response.headers.first(name: "content-type") == "text/event-stream")
            let reader = SSEReader(body: response.body)
            oai.enqueue(.error(status: 503, body: ["error": ["message": "down", "type": "server_error", "param": .null, "code": .null]]))
            _ = try await gateway.post("/v1/chat/completions", json: Self.chat)
            let event = try #require(try await reader.next())
            let json = try #require(try? JSONParser.parse(event.data))
            #expect(json["kind"]?.stringValue == "attempt_failed")
            #expect(json["text"]?.stringValue?.contains("oai/gpt-4o") == true)
            // The feed stays open; LiveGateway's graceful shutdown must still finish (the feed ends on drain).
        }
    }

    @Test func sessionsExpireAndTheirNumberIsBounded() {
        let sessions = DashboardSessions()
        let start = ContinuousClock.now
        let session = sessions.start(lifetime: .seconds(60), now: start)
        let cookie = "other=1; \(DashboardSessions.cookieName)=\(session.id)"
        #expect(sessions.session(cookieHeader: cookie, now: start + .seconds(59))?.csrfToken == session.csrfToken)
        #expect(sessions.session(cookieHeader: cookie, now: start + .seconds(61)) == nil)
        #expect(sessions.session(cookieHeader: "\(DashboardSessions.cookieName)=\(session.id)x", now: start) == nil)
        let first = sessions.start(lifetime: .seconds(60), now: start)
        for _ in 0..<DashboardSessions.maximum { _ = sessions.start(lifetime: .seconds(600), now: start) }
        #expect(sessions.session(cookieHeader: "\(DashboardSessions.cookieName)=\(first.id)", now: start) == nil, "the oldest gave way")
    }
}

struct DashboardSession {
    let cookie: String
    let csrf: String
}

extension LiveGateway.Context {
    /// A dashboard request: a form body when given, the session cookie when given; redirects are not followed.
    func dashboard(_ method: HTTPMethod, _ path: String, form: String? = nil, cookie: String? = nil) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let cookie { request.headers.add(name: "cookie", value: cookie) }
        if let form {
            request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Logs in with the admin key; returns the session cookie and the CSRF token the pages carry.
    func logIn() async throws -> DashboardSession {
        let login = try await dashboard(.POST, "/dashboard/login", form: "admin_key=\(DashboardTests.adminKey)")
        let setCookie = try #require(login.headers.first(name: "set-cookie"))
        let cookie = String(setCookie.prefix { $0 != ";" })
        let page = try await dashboard(.GET, "/dashboard/keys", cookie: cookie)
        let csrf = try #require(page.body.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) })
        return DashboardSession(cookie: cookie, csrf: csrf)
    }
}
