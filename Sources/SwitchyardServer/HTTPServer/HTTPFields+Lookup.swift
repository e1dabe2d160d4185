import HTTPTypes

extension HTTPFields {
    /// The value of the fields named `name`, exactly as `self[name]` gives it (repeated fields joined).
    ///
    /// HTTPTypes' subscript joins through an unspecialised generic `joined`: a new string, generic-metadata
    /// lookups and an allocation for every header a request handler reads. Most fields appear once, and
    /// then this returns the stored value as it is.
    func value(of name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
