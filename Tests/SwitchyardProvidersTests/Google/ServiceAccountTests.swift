import Foundation
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct ServiceAccountTests {
    /// RS256 is deterministic, and the header and claims are written as google-auth writes them: the
    /// recorded assertion comes out byte for byte.
    @Test func recordedJWTVectorIsReproducedByteForByte() throws {
        let vector = try Fixtures.json("vertex/service_account_jwt_vector.json")
        let keyJSON = try #require(vector["service_account_json"]).jsonString
        let key = try ServiceAccountKey(json: keyJSON)
        let issuedAt = try #require(vector["jwt_claims"]?["iat"]?.intValue)
        let assertion = try key.assertion(issuedAt: issuedAt)
        #expect(assertion == vector["assertion"]?.stringValue)
        #expect(assertion.hasPrefix(try #require(vector["signing_input"]?.stringValue) + "."))
    }

    @Test func badKeysAreRefusedWithoutEchoingThem() {
        #expect { try ServiceAccountKey(json: "{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}") } throws: {
            ($0 as? ServiceAccountKeyError)?.problem.contains("not a PEM RSA key") == true
        }
        #expect { try ServiceAccountKey(json: "{\"type\":\"authorized_user\"}") } throws: { ($0 as? ServiceAccountKeyError)?.problem.contains("authorized_user") == true }
    }
}
