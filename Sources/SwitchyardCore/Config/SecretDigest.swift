import Crypto

/// SHA-256 digests of secrets, for looking keys up and comparing them without touching the secret.
///
/// Virtual keys are long random strings, so a plain digest is safe to store and compare; it is stable
/// across restarts and processes (the form key storage keeps), and lookups by digest take the same time
/// whichever key, or how much of one, a caller guessed.
public enum SecretDigest {
    /// The lowercase hex SHA-256 of `secret`'s UTF-8 bytes.
    public static func hex(_ secret: String) -> String {
        let digest = SHA256.hash(data: Array(secret.utf8))
        var text = ""
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return text
    }

    /// Whether `presented` is `expected`, in time that depends on neither's content nor length.
    public static func matches(_ presented: String, _ expected: String) -> Bool {
        let lhs = Array(SHA256.hash(data: Array(presented.utf8)))
        let rhs = Array(SHA256.hash(data: Array(expected.utf8)))
        var difference: UInt8 = 0
        for index in 0..<lhs.count { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    private static let hexDigits = Array("0123456789abcdef")
}
