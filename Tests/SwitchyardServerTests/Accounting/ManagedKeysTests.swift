import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import SwitchyardStorage
import Testing

/// Virtual keys created at run time: the secret shown once, only its digest kept, honoured at once and
/// after a restart, changed and revoked through the admin API.
@Suite("Managed virtual keys")
struct ManagedKeysTests {
    static func config(storage: String) -> String {
        """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        storage: "\(storage)"
        providers:
          claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant-key-123456]}
        models:
          claude: claude/claude-sonnet-4-5
          other: claude/claude-haiku-4-5
        keys:
          - {name: static, key: static-key-123}
        """
    }

    static let admin = ["authorization": "Bearer admin-key-0123456789"]
    static let hi: JSONValue = ["model": "claude", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]]]

    @Test func createUseChangeRevokeAndSurviveARestart() async throws {
        let path = NSTemporaryDirectory() + "switchyard-keys-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let created = Collected()
        do {
            try await LiveGateway.run(vendors: [claude], config: Self.config(storage: "sqlite:\(path)")) { gateway in
                let response = try await gateway.send(
                    .POST, "/admin/keys", body: #"{"name":"team-a","models":["claude"],"limits":{"rpm":100},"budget":{"usd":5,"period":"week","alert_at":"80%"}}"#,
                    headers: Self.admin)
                #expect(response.status == 201)
                let key = try #require(response.json?["key"]?.stringValue)
                #expect(key.hasPrefix("sk-sy-") && key.count > 40)
                #expect(response.json?["budget"]?["alert_at"] == .double(0.8))
                // Usable at once, in both dialects, within its models.
                #expect(try await gateway.post("/v1/chat/completions", json: Self.hi, key: key).status == 200)
                #expect(try await gateway.post("/v1/messages", json: Self.hi, key: nil, headers: ["x-api-key": key]).status == 200)
                var other = Self.hi.objectValue!
                other["model"] = "other"
                #expect(try await gateway.post("/v1/chat/completions", json: .object(other), key: key).status == 403)
                // Listed without its secret, beside the config's keys.
                let list = try await gateway.send(.GET, "/admin/keys", headers: Self.admin)
                #expect(!list.body.contains(key))
                #expect(list.json?["keys"]?.arrayValue?.map { $0["name"] } == ["static", "team-a"])
                #expect(try await gateway.send(.POST, "/admin/keys", body: #"{"name":"static"}"#, headers: Self.admin).status == 409)
                #expect(try await gateway.send(.DELETE, "/admin/keys/static", headers: Self.admin).status == 409)
                created.append(key)
            }
        }
        let secret = try #require(created.values.first)
        // Only the digest is stored.
        let store = try await SQLiteAccountingStore.open(path: path)
        let stored = try await store.loadKeys()
        await store.close()
        #expect(stored.map(\.name) == ["team-a"] && stored.first?.digest == SecretDigest(secret))
        let raw = try String(contentsOfFile: path, encoding: .isoLatin1)
        #expect(!raw.contains(secret))

        try await LiveGateway.run(vendors: [claude], config: Self.config(storage: "sqlite:\(path)")) { gateway in
            #expect(try await gateway.post("/v1/chat/completions", json: Self.hi, key: secret).status == 200)  // survived the restart
            let patched = try await gateway.send(.PATCH, "/admin/keys/team-a", body: #"{"disabled":true}"#, headers: Self.admin)
            #expect(patched.status == 200 && patched.json?["disabled"] == true)
            #expect(try await gateway.post("/v1/chat/completions", json: Self.hi, key: secret).status == 401)
            _ = try await gateway.send(.PATCH, "/admin/keys/team-a", body: #"{"disabled":false,"models":null}"#, headers: Self.admin)
            var other = Self.hi.objectValue!
            other["model"] = "other"
            #expect(try await gateway.post("/v1/chat/completions", json: .object(other), key: secret).status == 200)
            #expect(try await gateway.send(.DELETE, "/admin/keys/team-a", headers: Self.admin).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", json: Self.hi, key: secret).status == 401)  // at once
            #expect(try await gateway.send(.PATCH, "/admin/keys/team-a", body: "{}", headers: Self.admin).status == 404)
        }
    }
}
