import HTTPTypes

extension HTTPFields {
    /// The value of the fields named `name`, exactly as `self[name]` gives it (repeated fields joined).
    ///
    /// HTTPTypes' subscript joins through an unspecialised generic `joined`: a new string, generic-metadata
    /// lookups and an allocation for every header a request handler reads. Most fields appear once, and
    /// then this returns the stored value as it is.
    func value(of name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name.is(name) {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }

    /// Whether a Connection field value (a comma-separated token list, RFC 9110 §7.6.1) names `close`,
    /// in any case. Byte-wise: String's substring search goes through _StringProcessing's generic searcher.
    static func listsCloseToken(_ value: String) -> Bool {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        return value.utf8.split(separator: UInt8(ascii: ",")).contains { token in
            guard let first = token.firstIndex(where: { !isSpace($0) }), let last = token.lastIndex(where: { !isSpace($0) })
            else { return false }
            let word = token[first...last]
            return word.count == 5 && zip(word, "close".utf8).allSatisfy { $0 | 0x20 == $1 }
        }
    }
}

extension HTTPField.Name {
    /// Whether this is `name`, as `==` says, after a check of the lengths that settles most cases (`==` compares
    /// whole names; heads and lookups compare every field's name with a few).
    func `is`(_ name: HTTPField.Name) -> Bool {
        canonicalName.utf8.count == name.canonicalName.utf8.count && self == name
    }
}
