/// A JSON document as a value, with object key order preserved.
///
/// Order matters to a gateway: JSON Schemas in tools and structured outputs are generated in property
/// order by most models, and same-dialect pass-through must not reshuffle a client's body. Numbers keep
/// their literal text so that large integers (seeds, ids) survive a round trip unchanged.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, kept as the literal text it was written with.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number value from an integer.
    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A number value from a floating-point value; integral values print without a fraction.
    public static func double(_ value: Double) -> JSONValue {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            return .number(String(Int64(value)))
        }
        return .number(value.isFinite ? "\(value)" : "0")
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) }
        return nil
    }

    /// The value as an integer, when it is a number with no fractional part.
    public var intValue: Int? {
        guard case .number(let n) = self else { return nil }
        if let i = Int(n) { return i }
        if let d = Double(n), d == d.rounded(), abs(d) < 9.0e15 { return Int(d) }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member named `key` when this is an object.
    /// The element at `index` when this is an array and has one there.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// A short name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object whose members keep the order they were written in.
///
/// Small objects (the common case) are searched linearly; past ``indexThreshold`` members a hash index
/// keeps lookups and inserts constant-time, so a hostile body with 100k keys costs linear work.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String]
    public private(set) var values: [JSONValue]
    /// Position of each key, built once the object grows past ``indexThreshold``.
    private var index: [String: Int]?

    /// Member count from which lookups go through a hash index.
    static let indexThreshold = 16

    public init() {
        keys = []
        values = []
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        keys = []
        values = []
        keys.reserveCapacity(elements.count)
        values.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    /// An object of these members, keys already unique (the parser's), with their positions when the parser
    /// had to index them (past ``indexThreshold`` members), so they are not hashed twice.
    init(uniqueKeys keys: [String], values: [JSONValue], positions: [String: Int]?) {
        self.keys = keys
        self.values = values
        index = positions
        if index == nil, keys.count > Self.indexThreshold { rebuildIndex() }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.keys == rhs.keys && lhs.values == rhs.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(keys)
        hasher.combine(values)
    }

    /// The position of `key`, if present.
    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        // Lengths first: `==` on two different short strings takes the comparison's slow path (~150
        // instructions), and most keys looked for differ in length from most keys present.
        let length = key.utf8.count
        return keys.firstIndex { $0.utf8.count == length && $0 == key }
    }

    /// The member named `key`; setting `nil` removes it, setting an existing key replaces it in place.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return values[position]
        }
        set {
            if let position = position(of: key) {
                if let newValue {
                    values[position] = newValue
                } else {
                    keys.remove(at: position)
                    values.remove(at: position)
                    if index != nil { rebuildIndex() }
                }
            } else if let newValue {
                append(key, newValue)
            }
        }
    }

    /// Appends a member without looking for an existing one; for builders that know keys are unique.
    public mutating func append(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
        if index != nil {
            index?[key] = keys.count - 1
        } else if keys.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    private mutating func rebuildIndex() {
        var positions: [String: Int] = [:]
        positions.reserveCapacity(keys.count)
        // With duplicate keys (only possible through `append`), the first one wins, as a linear search would.
        for (position, key) in keys.enumerated() where positions[key] == nil { positions[key] = position }
        index = positions
    }

    public func makeIterator() -> Zip2Sequence<[String], [JSONValue]>.Iterator {
        zip(keys, values).makeIterator()
    }
}
