import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

extension SimulatorServer {
    /// Converse and ConverseStream: the SigV4 signature is recomputed from the request as received (method,
    /// raw path, signed headers, the body's own hash) with the trusted secret, and any mismatch is Bedrock's
    /// 403 InvalidSignatureException. Bedrock API keys (`Authorization: Bearer`) are accepted unless revoked.
    static func handleBedrock(_ request: Request, vendor: SimulatedVendor, model: String, stream: Bool) async throws -> Response {
        let (recorded, scenario) = try await record(request, vendor: vendor)
        if let refusal = verifyAWSAuthorization(recorded, rawURI: request.uri.string, vendor: vendor) { return refusal }
        if case .error(let status, let body, var headers) = scenario {
            // Bedrock names the error in a header; a test's body says which with `__type`.
            if headers["x-amzn-ErrorType"] == nil, let type = body["__type"]?.stringValue { headers["x-amzn-ErrorType"] = "\(type):http://internal.amazon.com/coral/com.amazon.bedrock/" }
            return jsonResponse(["message": body["message"] ?? "error"], status: HTTPResponse.Status(code: status), headers: headers)
        }
        return try await handleChat(request, vendor: vendor, wire: .bedrock, model: model, stream: stream, recorded: (recorded, scenario))
    }

    static func bedrockError(_ status: Int, _ type: String, _ message: String) -> Response {
        jsonResponse(["message": .string(message)], status: HTTPResponse.Status(code: status), headers: ["x-amzn-ErrorType": "\(type):http://internal.amazon.com/coral/com.amazon.bedrock/"])
    }

    static func verifyAWSAuthorization(_ request: RecordedRequest, rawURI: String, vendor: SimulatedVendor) -> Response? {
        let authorization = request.headers["authorization"] ?? ""
        if authorization.hasPrefix("Bearer ") {
            let key = String(authorization.dropFirst(7))
            if key.hasPrefix("revoked") || vendor.keysRevoked { return bedrockError(403, "UnrecognizedClientException", "The security token included in the request is invalid.") }
            return nil
        }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return bedrockError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst(17).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        let scope = (fields["Credential"] ?? "").split(separator: "/").map(String.init)
        guard scope.count == 5, let secret = vendor.awsSecret(accessKeyID: scope[0]), !vendor.keysRevoked else {
            return bedrockError(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        let signedNames = (fields["SignedHeaders"] ?? "").split(separator: ";").map(String.init)
        let headers = HeaderFields(signedNames.map { (name: $0, value: request.headers[$0] ?? "") })
        let body = Array(request.rawBody.utf8)
        let payloadHash = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let host = request.headers["host"] ?? ""
        let (canonical, _) = SigV4Signer.canonicalRequest(
            method: request.method, url: SigV4Signer.URLParts("http://\(host)\(rawURI)"), headers: headers, payloadHash: payloadHash)
        let signer = SigV4Signer(
            credentials: .init(accessKeyID: scope[0], secretAccessKey: secret, sessionToken: request.headers["x-amz-security-token"]), region: scope[2],
            service: scope[3])
        let expected = signer.signature(canonicalRequest: canonical, amzDate: request.headers["x-amz-date"] ?? "")
        guard signedNames.contains("host"), expected == fields["Signature"] else {
            return bedrockError(
                403, "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return nil
    }
}
