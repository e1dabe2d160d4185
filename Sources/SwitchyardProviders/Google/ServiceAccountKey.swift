import Crypto
import CryptoExtras
import Foundation
import SwitchyardCore

/// A Google service-account key (the JSON file Cloud Console hands out), parsed and ready to sign.
public struct ServiceAccountKey: Sendable {
    public let clientEmail: String
    public let privateKeyID: String?
    public let tokenURI: String
    public let projectID: String?
    let privateKey: _RSA.Signing.PrivateKey
    /// The PEM text, for redaction.
    let privateKeyPEM: String

    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"
    public static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

    /// - Throws: a message saying what is wrong with the key, never its contents.
    public init(json text: String) throws(ServiceAccountKeyError) {
        guard let json = try? JSONParser.parse(text), case .object = json else { throw .init("is not a JSON object") }
        if let type = json["type"]?.stringValue, type != "service_account" { throw .init("has type '\(type.prefix(40))', expected service_account") }
        guard let email = json["client_email"]?.stringValue, !email.isEmpty else { throw .init("has no client_email") }
        guard let pem = json["private_key"]?.stringValue, !pem.isEmpty else { throw .init("has no private_key") }
        do {
            privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw .init("has a private_key that is not a PEM RSA key of 2048 bits or more")
        }
        clientEmail = email
        privateKeyPEM = pem
        privateKeyID = json["private_key_id"]?.stringValue
        tokenURI = json["token_uri"]?.stringValue ?? Self.defaultTokenURI
        projectID = json["project_id"]?.stringValue
    }

    /// The signed JWT for the JWT-bearer grant (RFC 7523, providers.md §4.2), issued at `issuedAt` (Unix
    /// seconds) for one hour. The header and claims are written the way google-auth writes them (same
    /// order, `", "` and `": "` separators), so the assertion is byte for byte what Google's own client sends.
    public func assertion(issuedAt: Int, scope: String = cloudPlatformScope, audience: String? = nil) throws -> String {
        func quoted(_ text: String) -> String { JSONValue.string(text).jsonString }
        var header = #"{"typ": "JWT", "alg": "RS256""#
        if let privateKeyID { header += ", \"kid\": \(quoted(privateKeyID))" }
        header += "}"
        let claims =
            "{\"iat\": \(issuedAt), \"exp\": \(issuedAt + 3600), \"iss\": \(quoted(clientEmail)), "
            + "\"aud\": \(quoted(audience ?? tokenURI)), \"scope\": \(quoted(scope))}"
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        return signingInput + "." + Base64URL.encode(try sign(signingInput))
    }

    /// RSASSA-PKCS1-v1_5 over SHA-256 (RS256).
    func sign(_ signingInput: String) throws -> [UInt8] {
        let signature = try privateKey.signature(for: SHA256.hash(data: Array(signingInput.utf8)), padding: .insecurePKCS1v1_5)
        return Array(signature.rawRepresentation)
    }
}

/// What is wrong with a service-account key.
public struct ServiceAccountKeyError: Error, Sendable {
    public let problem: String
    init(_ problem: String) { self.problem = problem }
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use it.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
