/// Path pieces built from model names, which come from config and clients.
enum URLPath {
    /// `text` percent-encoded as one path segment: everything outside RFC 3986's unreserved characters
    /// (and `@`, which Vertex model versions use) is escaped, so a model name can never add a segment or a query.
    static func segment(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "@"):
                output.append(Character(Unicode.Scalar(byte)))
            default:
                output += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return output
    }

    /// The root without trailing slashes, so paths join with exactly one.
    static func root(_ url: String) -> String {
        var root = Substring(url)
        while root.hasSuffix("/") { root = root.dropLast() }
        return String(root)
    }
}
