public import Crypto
public import Foundation
import NIOCore
import Synchronization
public import SwitchyardCore

/// AWS Signature Version 4 (providers.md §5.6), computed on the exact method, path, query, headers and body
/// bytes that go on the wire. The `host` header is set explicitly (with a non-default port when there is
/// one), so the host signed is the host sent.
public struct SigV4Signer: Sendable {
    public struct Credentials: Sendable, Hashable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    public var credentials: Credentials
    public var region: String
    public var service: String
    /// Whether to send and sign `x-amz-content-sha256` (optional for Bedrock; botocore leaves it out).
    public var signsContentHash: Bool

    /// The day's signing key, derived once per day rather than with four HMACs per request.
    private let keyCache = SigningKeyCache()

    public init(credentials: Credentials, region: String, service: String = "bedrock", signsContentHash: Bool = true) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.signsContentHash = signsContentHash
    }

    /// Headers never signed: proxies and the transport may change them (botocore's list).
    static let unsignedHeaders: Set<String> = [
        "user-agent", "expect", "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "x-amzn-trace-id", "traceparent",
        "tracestate", "baggage", "authorization",
    ]

    /// Signs `request` as of `date`: sets `host`, `x-amz-date`, the session token and content hash when
    /// needed, and `authorization`.
    public func sign(_ request: inout UpstreamRequest, date: Date) {
        let url = URLParts(request.url)
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        let payloadHash = Self.hex(request.body.map { body in body.withUnsafeReadableBytes { SHA256.hash(data: $0) } } ?? SHA256.hash(data: [UInt8]()))
        request.headers.replace("host", url.hostHeader)
        request.headers.replace("x-amz-date", amzDate)
        if let token = credentials.sessionToken { request.headers.replace("x-amz-security-token", token) }
        if signsContentHash { request.headers.replace("x-amz-content-sha256", payloadHash) }
        let (canonical, signedHeaders) = Self.canonicalRequest(method: request.method, url: url, headers: request.headers, payloadHash: payloadHash)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let signature = signature(canonicalRequest: canonical, amzDate: amzDate)
        request.headers.replace(
            "authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)")
    }

    /// The hex signature of a canonical request made at `amzDate` (`YYYYMMDD'T'HHMMSS'Z'`).
    public func signature(canonicalRequest: String, amzDate: String) -> String {
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))))"
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: keyCache.key(for: [day, region, service, credentials.secretAccessKey]) { signingKey(day: day) }))
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    public func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// The canonical request and the signed header list.
    public static func canonicalRequest(method: String, url: URLParts, headers: HeaderFields, payloadHash: String) -> (String, String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard !unsignedHeaders.contains(lowered), !lowered.hasPrefix("proxy-") else { continue }
            values[lowered, default: []].append(value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " "))
        }
        let names = values.keys.sorted()
        let headerLines = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        let signed = names.joined(separator: ";")
        let canonical = "\(method)\n\(canonicalPath(url.path))\n\(canonicalQuery(url.query))\n\(headerLines)\n\(signed)\n\(payloadHash)"
        return (canonical, signed)
    }

    /// The path as sent, percent-encoded once more (non-S3 services double-encode: `%3A` becomes `%253A`).
    static func canonicalPath(_ path: String) -> String {
        let normalised = path.isEmpty ? "/" : path
        return encode(normalised, keeping: "/")
    }

    /// Query pairs with names and values URI-encoded (unreserved kept), sorted.
    static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            return (encode(name, keeping: ""), encode(value, keeping: ""))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Percent-encodes everything but `A-Za-z0-9-._~` and the characters in `keeping`.
    static func encode(_ text: String, keeping: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            case _ where keeping.utf8.contains(byte):
                output.append(byte)
            default:
                output.append(UInt8(ascii: "%"))
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func amzDate(_ date: Date) -> String {
        UTCTime(unixSeconds: date.timeIntervalSince1970).compactTimestamp
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(64)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The pieces of a URL that signing needs, taken from the string as it will be sent.
    public struct URLParts: Sendable {
        public var hostHeader: String
        public var path: String
        public var query: String?

        public init(_ url: String) {
            let parsed = UpstreamURL(url)
            hostHeader = parsed.hostHeader
            path = parsed.path
            query = parsed.query
        }
    }
}

/// The last signing key, by what it is derived from (day, region, service, secret): copies of a signer
/// share the cache, and one whose credentials or region changed derives its own.
final class SigningKeyCache: Sendable {
    private let cached = Mutex<(inputs: [String], key: SymmetricKey)?>(nil)

    func key(for inputs: [String], derive: () -> SymmetricKey) -> SymmetricKey {
        if let hit = cached.withLock({ $0 }), hit.inputs == inputs { return hit.key }
        let key = derive()
        cached.withLock { $0 = (inputs, key) }
        return key
    }
}
