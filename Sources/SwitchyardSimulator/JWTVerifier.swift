import Crypto
import CryptoExtras
import Foundation
import SwitchyardCore

/// The checks Google's token endpoint makes on a JWT-bearer assertion (providers.md §4.2): a known
/// issuer, a valid RS256 signature from that issuer's key, and a short lifetime around now.
enum JWTVerifier {
    enum Outcome {
        case accepted(issuer: String)
        case rejected(String)
    }

    static func verify(_ assertion: String, keyFor: (String) -> String?, now: Int = Int(Date().timeIntervalSince1970)) -> Outcome {
        let pieces = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 3, let headerBytes = base64URL(pieces[0]), let claimsBytes = base64URL(pieces[1]), let signature = base64URL(pieces[2]),
            let header = try? JSONParser.parse(headerBytes), let claims = try? JSONParser.parse(claimsBytes)
        else { return .rejected("Invalid JWT: malformed assertion.") }
        guard header["alg"]?.stringValue == "RS256" else { return .rejected("Invalid JWT: unsupported algorithm.") }
        guard let issuer = claims["iss"]?.stringValue, let pem = keyFor(issuer), let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) else {
            return .rejected("Invalid JWT Signature.")
        }
        let signingInput = Array("\(pieces[0]).\(pieces[1])".utf8)
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signingInput), padding: _RSA.Signing.Padding.insecurePKCS1v1_5)
        else { return .rejected("Invalid JWT Signature.") }
        guard let issuedAt = claims["iat"]?.intValue, let expiry = claims["exp"]?.intValue, expiry - issuedAt <= 3600, expiry > now, issuedAt <= now + 300
        else {
            return .rejected(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        }
        return .accepted(issuer: issuer)
    }

    private static func base64URL(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
