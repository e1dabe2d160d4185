/// Tool-call ids from other vendors made safe for Anthropic (`^[a-zA-Z0-9_-]+$`, providers.md §2.2 rule 4).
///
/// The mapping is a pure function so that a `tool_use.id` and the later `tool_result.tool_use_id`
/// sanitise identically without any server-side state.
enum AnthropicToolID {
    static func sanitize(_ id: String) -> String {
        let isValid = !id.isEmpty && id.utf8.allSatisfy(isAllowed)
        if isValid { return id }
        let cleaned = String(decoding: id.utf8.map { isAllowed($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        // A hash of the original keeps two ids that differ only in replaced characters apart.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return (cleaned.isEmpty ? "toolu" : cleaned) + "_" + String(hash, radix: 36)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
