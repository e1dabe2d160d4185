import HTTPTypes
import SwitchyardCore

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
        value.withUTF8Bytes { bytes in
            var listsClose = false
            HTTP1Syntax.forEachListElement(UnsafeRawBufferPointer(bytes)) { token in
                if HTTP1Syntax.equalsCaseInsensitively(token, "close") { listsClose = true }
            }
            return listsClose
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
