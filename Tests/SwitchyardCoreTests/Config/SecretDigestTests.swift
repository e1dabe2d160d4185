import SwitchyardCore
import SwitchyardProviders
import Testing

@Suite struct SecretDigestTests {
    @Test func digestIsTheStandardSHA256() {
        #expect(SecretDigest("abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func matchingComparesWholeSecretsOfAnyLength() {
        #expect(SecretDigest.matches("admin-key-0123456789", "admin-key-0123456789"))
        #expect(!SecretDigest.matches("admin-key-012345678", "admin-key-0123456789"))
        #expect(!SecretDigest.matches("admin-key-01234567890", "admin-key-0123456789"))
        #expect(!SecretDigest.matches("", "admin-key-0123456789"))
    }

    @Test func virtualKeysAreFoundByTheirSecretOnly() throws {
        let config = try ConfigLoader.parse("keys:\n  - {name: app, key: sk-virtual-123}\n")
        let table = RouteTable(config: config, providers: [])
        #expect(table.virtualKey(secret: "sk-virtual-123")?.name == "app")
        #expect(table.virtualKey(secret: SecretDigest("sk-virtual-123").hex) == nil)
        #expect(table.virtualKey(secret: "sk-virtual-12") == nil)
    }
}
