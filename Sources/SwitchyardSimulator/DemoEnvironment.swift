import CryptoExtras
import Foundation
import SwitchyardCore

/// The simulated providers and config of `switchyard demo`, kept here so tests run exactly what users run.
public enum DemoEnvironment {
    /// The demo's virtual key.
    public static let key = "sk-switchyard-demo"
    /// The demo's admin key, for `GET /admin/providers`.
    public static let adminKey = "sk-switchyard-demo-admin"

    /// Seven vendors: `flaky` (OpenAI format, every other request fails with 503), `claude` (Anthropic
    /// format), `openai` (OpenAI format), `vertex` (Vertex AI: Claude and Gemini, service-account auth),
    /// `gemini` (Gemini API), `bedrock` (AWS Bedrock, SigV4) and `azure` (Azure OpenAI), each with realistic latency and token-by-token streaming.
    /// The demo runs for as long as a user likes: its vendors keep only a small window of requests.
    public static let demoRetainedRequests = 100

    public static func makeVendors(latency: Bool = true) -> [SimulatedVendor] {
        func reply(_ text: String, firstByte: Int, interval: Int) -> SimulatedReply {
            SimulatedReply(
                text: text, firstByteDelay: latency ? .milliseconds(firstByte) : .zero, chunkInterval: latency ? .milliseconds(interval) : .zero)
        }
        let flaky = SimulatedVendor(
            name: "flaky", format: .openai, defaultReply: reply("Hello from the flaky simulator, which fails every other request.", firstByte: 120, interval: 30),
            retainedRequests: demoRetainedRequests)
        flaky.failEvery(
            2, with: .error(status: 503, body: ["error": ["message": "The server is overloaded.", "type": "server_error", "param": .null, "code": .null]]))
        let claude = SimulatedVendor(
            name: "claude", format: .anthropic,
            defaultReply: reply("Hello from the simulated Anthropic provider, answering in the Messages wire format.", firstByte: 250, interval: 35),
            retainedRequests: demoRetainedRequests)
        let openai = SimulatedVendor(
            name: "openai", format: .openai, defaultReply: reply("Hello from the simulated OpenAI provider, streamed token by token.", firstByte: 180, interval: 25),
            retainedRequests: demoRetainedRequests)
        let vertex = SimulatedVendor(
            name: "vertex", format: .vertex,
            defaultReply: reply("Hello from the simulated Vertex AI: the same models, through Google Cloud.", firstByte: 300, interval: 35),
            retainedRequests: demoRetainedRequests)
        vertex.trustServiceAccount(email: serviceAccount.email, publicKeyPEM: serviceAccount.publicKeyPEM)
        let gemini = SimulatedVendor(
            name: "gemini", format: .gemini, defaultReply: reply("Hello from the simulated Gemini API.", firstByte: 200, interval: 25),
            retainedRequests: demoRetainedRequests)
        let bedrock = SimulatedVendor(
            name: "bedrock", format: .bedrock, defaultReply: reply("Hello from Claude on the simulated AWS Bedrock.", firstByte: 220, interval: 30),
            retainedRequests: demoRetainedRequests)
        bedrock.trustAWSCredentials(accessKeyID: demoAWSAccessKeyID, secretAccessKey: demoAWSSecretKey)
        let azure = SimulatedVendor(
            name: "azure", format: .azure, defaultReply: reply("Hello from the simulated Azure OpenAI deployment.", firstByte: 160, interval: 25),
            retainedRequests: demoRetainedRequests)
        return [flaky, claude, openai, vertex, gemini, bedrock, azure]
    }

    /// The demo's AWS key pair: the simulated Bedrock verifies SigV4 signatures made with it.
    static let demoAWSAccessKeyID = "AKIDSWITCHYARDDEMO"
    static let demoAWSSecretKey = "switchyard/demo+SECRET"

    /// A throwaway service account made for this run: the simulated Vertex trusts its public key and the
    /// gateway signs its token requests with the private one, exactly as with a real Google key file.
    public struct DemoServiceAccount: Sendable {
        public let email: String
        public let keyJSON: String
        public let publicKeyPEM: String
    }

    public static let serviceAccount: DemoServiceAccount = {
        let key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
        let email = "switchyard-demo@switchyard-demo.iam.gserviceaccount.com"
        let json: JSONValue = [
            "type": "service_account", "project_id": "switchyard-demo", "private_key_id": "demo", "private_key": .string(key.pemRepresentation),
            "client_email": .string(email), "token_uri": "https://oauth2.googleapis.com/token",
        ]
        return DemoServiceAccount(email: email, keyJSON: json.jsonString, publicKeyPEM: key.publicKey.pemRepresentation)
    }()

    /// Writes the demo service account's key file (readable by this user only) and returns its path.
    public static func writeServiceAccountFile() throws -> String {
        let path = NSTemporaryDirectory() + "switchyard-demo-service-account-\(ProcessInfo.processInfo.processIdentifier).json"
        guard FileManager.default.createFile(atPath: path, contents: Data(serviceAccount.keyJSON.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return path
    }

    /// The demo config; `port(of:)` gives the port text of each vendor (a number, or a test placeholder).
    /// - Parameters:
    ///   - serviceAccountPath: the key file ``writeServiceAccountFile()`` wrote.
    ///   - storagePath: the request log's SQLite file (`:memory:` keeps it in memory).
    public static func config(port: Int, serviceAccountPath: String, storagePath: String = ":memory:", port vendorPort: (String) -> String) -> String {
        """
        listen: 127.0.0.1:\(port)
        storage: "sqlite:\(storagePath)"
        admin_key: \(adminKey)
        providers:
          flaky:
            type: openai
            base_url: http://127.0.0.1:\(vendorPort("flaky"))/v1
            keys: [sim-flaky-key]
          claude:
            type: anthropic
            base_url: http://127.0.0.1:\(vendorPort("claude"))
            keys: [sim-claude-key]
          openai:
            type: openai
            base_url: http://127.0.0.1:\(vendorPort("openai"))/v1
            keys: [sim-openai-key]
          vertex:
            type: vertex
            base_url: http://127.0.0.1:\(vendorPort("vertex"))
            project: switchyard-demo
            location: us-east5
            service_account: ${file:\(serviceAccountPath)}
            token_url: http://127.0.0.1:\(vendorPort("vertex"))/oauth/token
          gemini:
            type: gemini
            base_url: http://127.0.0.1:\(vendorPort("gemini"))
            keys: [sim-gemini-key]
          bedrock:
            type: bedrock
            base_url: http://127.0.0.1:\(vendorPort("bedrock"))
            region: us-east-1
            aws: {access_key_id: \(demoAWSAccessKeyID), secret_access_key: "\(demoAWSSecretKey)"}
          azure:
            type: azure
            base_url: http://127.0.0.1:\(vendorPort("azure"))
            api_version: 2024-10-21
            keys: [sim-azure-key]
        models:
          smart:
            strategy: priority
            targets: [flaky/gpt-4o, claude/claude-sonnet-4-5, openai/gpt-4o]
            aliases: [gpt-5]
          claude:
            strategy: priority
            targets: [claude/claude-sonnet-4-5, vertex/claude-sonnet-4-5@20250929, bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0]
            aliases: [claude-sonnet-4-5, claude-sonnet-4-5-20250929, claude-haiku-4-5, claude-haiku-4-5-20251001, sonnet, haiku]
          gemini:
            strategy: priority
            targets: [gemini/gemini-2.5-flash, vertex/gemini-2.5-flash]
          azure: azure/gpt-4o-prod
          fast: openai/gpt-4o-mini
          embed: openai/text-embedding-3-small
        routing:
          attempts: 4
          deadline: 60s
        keys:
          - name: demo
            key: \(key)
        """
    }
}
