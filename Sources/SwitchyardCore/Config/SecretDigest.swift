import Crypto

/// The SHA-256 digest of a secret, for looking keys up and comparing them without touching the secret.
///
/// Virtual keys are long random strings, so a plain digest is safe to store and compare; it is stable
/// across restarts and processes (``hex`` is the form key storage keeps), and lookups by digest take the
/// same time whichever key, or how much of one, a caller guessed. Held as four words, so a lookup hashes
/// 32 bytes and builds no string.
public struct SecretDigest: Hashable, Sendable {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    public init(_ secret: String) {
        // Hashed where the string keeps its bytes (every request's key comes here): no copy into an array.
        let digest = secret.withUTF8Bytes { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        words = digest.withUnsafeBytes { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    /// The digest whose ``hex`` form is `hex` (as key storage keeps it); nil for anything else.
    public init?(hex: String) {
        let bytes = Array(hex.utf8)
        guard bytes.count == 64 else { return nil }
        var raw = [UInt8](repeating: 0, count: 32)
        for index in 0..<32 {
            guard let byte = UInt8(String(decoding: bytes[(2 * index)..<(2 * index + 2)], as: UTF8.self), radix: 16) else { return nil }
            raw[index] = byte
        }
        words = raw.withUnsafeBytes { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    public static func == (lhs: SecretDigest, rhs: SecretDigest) -> Bool {
        lhs.words == rhs.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// The lowercase hex form of the digest.
    public var hex: String {
        withUnsafeBytes(of: words) { bytes in
            bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        }
    }

    /// Whether `presented` is `expected`, in time that depends on neither's content nor length.
    public static func matches(_ presented: String, _ expected: String) -> Bool {
        let lhs = SecretDigest(presented).words
        let rhs = SecretDigest(expected).words
        return (lhs.0 ^ rhs.0) | (lhs.1 ^ rhs.1) | (lhs.2 ^ rhs.2) | (lhs.3 ^ rhs.3) == 0
    }
}
