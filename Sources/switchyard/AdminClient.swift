import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders

/// Where the admin commands find the gateway: `--url` / `--admin-key`, else `SWITCHYARD_URL` /
/// `SWITCHYARD_ADMIN_KEY`, else the config file's `listen` and `admin_key`.
struct AdminOptions: ParsableArguments {
    @Option(help: "Gateway URL (default: SWITCHYARD_URL, else the config's listen address).")
    var url: String?

    @Option(name: .customLong("admin-key"), help: "Admin key (default: SWITCHYARD_ADMIN_KEY, else the config's admin_key).")
    var adminKey: String?

    @Option(name: .shortAndLong, help: "Config file to read listen and admin_key from.")
    var config: String = "switchyard.yaml"

    func resolve() throws -> (url: String, key: String) {
        let environment = ProcessInfo.processInfo.environment
        var url = url ?? environment["SWITCHYARD_URL"]
        var key = adminKey ?? environment["SWITCHYARD_ADMIN_KEY"]
        if url == nil || key == nil, FileManager.default.fileExists(atPath: config), let parsed = try? ConfigLoader.load(path: config) {
            let host = parsed.listen.host == "0.0.0.0" ? "127.0.0.1" : parsed.listen.host
            url = url ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(parsed.listen.port)"
            key = key ?? parsed.adminKey
        }
        guard let url, let key else {
            throw ValidationError("Give --url and --admin-key (or SWITCHYARD_URL and SWITCHYARD_ADMIN_KEY, or a config file with listen and admin_key).")
        }
        return (url.hasSuffix("/") ? String(url.dropLast()) : url, key)
    }

    /// Sends one admin request and returns the status and JSON body.
    func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> (status: Int, json: JSONValue?) {
        let (url, key) = try resolve()
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.jsonBytes))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), try? JSONParser.parse(bytes.readableBytesView))
    }

    func check(_ result: (status: Int, json: JSONValue?)) throws -> JSONValue {
        guard (200..<300).contains(result.status), let json = result.json else {
            let message = result.json?["error"]?["message"]?.stringValue ?? result.json?["error"]?.stringValue ?? "HTTP \(result.status)"
            throw ValidationError("The gateway refused: \(message)")
        }
        return json
    }
}

/// `switchyard keys create|list|revoke`: managed virtual keys through the admin API.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke virtual keys on a running gateway.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed this once.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The key's name.") var name: String
        @Option(help: "A route or target the key may use (repeat for several; default all).") var model: [String] = []
        @Option(help: "Budget in USD.") var budget: Double?
        @Option(help: "Budget period: day, week, month or total.") var period: String = "month"
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?

        func run() async throws {
            var body: JSONObject = ["name": .string(name)]
            if !model.isEmpty { body["models"] = .array(model.map(JSONValue.string)) }
            if let budget { body["budget"] = ["usd": .double(budget), "period": .string(period)] }
            if rpm != nil || tpm != nil { body["limits"] = ["rpm": rpm.map(JSONValue.int) ?? .null, "tpm": tpm.map(JSONValue.int) ?? .null] }
            let json = try admin.check(try await admin.send(.POST, "/admin/keys", body: .object(body)))
            print("Created key '\(name)'. Its secret, shown only now:")
            print(json["key"]?.stringValue ?? "?")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let json = try admin.check(try await admin.send(.GET, "/admin/keys"))
            var rows = [["NAME", "SOURCE", "MODELS", "BUDGET", "SPENT", "LIMITS", "STATE"]]
            for key in json["keys"]?.arrayValue ?? [] {
                let budget = key["budget"]?.objectValue
                let limits = key["limits"]?.objectValue
                rows.append([
                    key["name"]?.stringValue ?? "", key["source"]?.stringValue ?? "",
                    key["models"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? "all",
                    budget.map { "$\($0["usd"]?.doubleValue ?? 0)/\($0["period"]?.stringValue ?? "")" } ?? "-",
                    budget?["spent_usd"]?.doubleValue.map { String(format: "$%.4f", $0) } ?? "-",
                    limits.map { "rpm \($0["rpm"]?.intValue.map(String.init) ?? "-") tpm \($0["tpm"]?.intValue.map(String.init) ?? "-")" } ?? "-",
                    key["disabled"]?.boolValue == true ? "disabled" : "active",
                ])
            }
            printTable(rows)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a managed key: it stops working at once.")
        @OptionGroup var admin: AdminOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            _ = try admin.check(try await admin.send(.DELETE, "/admin/keys/\(name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)"))
            print("Revoked key '\(name)'.")
        }
    }
}

/// `switchyard usage`: requests, tokens and cost by key, route, target, provider or day.
struct UsageReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Print usage and cost totals from a running gateway.")
    @OptionGroup var admin: AdminOptions
    @Option(help: "Group by key, route, target, provider or day.") var groupBy: String = "key"
    @Option(help: "From (RFC 3339, YYYY-MM-DD or Unix seconds; default 30 days ago).") var since: String?
    @Option(help: "Until (default now).") var until: String?

    func run() async throws {
        var query = "group_by=\(groupBy)"
        if let since { query += "&since=\(since)" }
        if let until { query += "&until=\(until)" }
        let json = try admin.check(try await admin.send(.GET, "/admin/usage?\(query)"))
        var rows = [[groupBy.uppercased(), "REQUESTS", "ERRORS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST USD", "UNPRICED"]]
        for row in json["usage"]?.arrayValue ?? [] {
            rows.append([
                row["group"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "-", "\(row["requests"]?.intValue ?? 0)", "\(row["errors"]?.intValue ?? 0)",
                "\(row["prompt_tokens"]?.intValue ?? 0)", "\(row["completion_tokens"]?.intValue ?? 0)", String(format: "%.6f", row["cost_usd"]?.doubleValue ?? 0),
                "\(row["unpriced_requests"]?.intValue ?? 0)",
            ])
        }
        printTable(rows)
    }
}

/// Columns padded to their widest cell.
func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}
