import SwitchyardCore

/// Recognises the event most of an Anthropic stream is made of — a `content_block_delta` whose delta is a
/// `text_delta` — straight from its bytes, without building its JSON tree. Anything else, or anything the
/// cursor is unsure of, is left to the full decode, so both always agree. A repeated key counts with its
/// last value, as in the parser.
enum AnthropicPlainDelta {
    /// The delta's text (`nil` for none or empty, which the full decode also reports as nothing); `nil`
    /// when the event needs the full decode.
    static func recognise(_ data: String) -> String?? {
        var data = data
        return data.withUTF8 { bytes in
            var cursor = JSONCursor(bytes)
            return try? recognise(&cursor)
        }
    }

    private static func recognise(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> String? {
        var type: String?
        var text: String??
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            if JSONCursor.key(key, is: "type") {
                type = try cursor.string()
            } else if JSONCursor.key(key, is: "delta") {
                text = try delta(&cursor)
            } else {
                try cursor.skipValue()
            }
        }
        try cursor.end()
        guard type == "content_block_delta", let text else { throw JSONCursor.Unsure() }
        return text
    }

    /// A text delta's text (`nil` when null, absent or empty); throws for any other kind of delta.
    private static func delta(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> String? {
        var type: String?
        var text: String?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            if JSONCursor.key(key, is: "type") {
                type = try cursor.string()
            } else if JSONCursor.key(key, is: "text") {
                text = cursor.skipNull() ? nil : try cursor.string()
            } else {
                try cursor.skipValue()
            }
        }
        guard type == "text_delta" else { throw JSONCursor.Unsure() }
        return text?.isEmpty == false ? text : nil
    }
}
