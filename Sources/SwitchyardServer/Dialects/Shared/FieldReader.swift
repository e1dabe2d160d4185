import SwitchyardCore

/// Reads typed fields out of a client's JSON body; every type error names the offending field path.
struct FieldReader {
    let value: JSONValue
    private let location: FieldPath

    init(_ value: JSONValue, path: String = "") {
        self.value = value
        self.location = path.isEmpty ? .root : .member(of: .root, path)
    }

    private init(_ value: JSONValue, location: FieldPath) {
        self.value = value
        self.location = location
    }

    /// The field's path (`messages[0].content`), spelled out when asked for: an error, a note on a field only
    /// one dialect has.
    var path: String { location.description }

    func field(_ name: String) -> FieldReader? {
        guard let member = value[name], !member.isNull else { return nil }
        return FieldReader(member, location: .member(of: location, name))
    }

    func required(_ name: String) throws(GatewayError) -> FieldReader {
        guard let field = field(name) else { throw GatewayError.invalidRequest("Missing required field '\(join(name))'.", parameter: join(name)) }
        return field
    }

    func elements() throws(GatewayError) -> [FieldReader] {
        guard case .array(let items) = value else { throw mismatch("an array") }
        return items.enumerated().map { FieldReader($0.element, location: .element(of: location, $0.offset)) }
    }

    func string() throws(GatewayError) -> String {
        guard case .string(let text) = value else { throw mismatch("a string") }
        return text
    }

    func bool() throws(GatewayError) -> Bool {
        guard case .bool(let flag) = value else { throw mismatch("a boolean") }
        return flag
    }

    func int(in range: ClosedRange<Int> = Int.min...Int.max) throws(GatewayError) -> Int {
        guard let number = value.intValue else { throw mismatch("an integer") }
        guard range.contains(number) else { throw outOfRange(range.lowerBound, range.upperBound) }
        return number
    }

    func double(in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws(GatewayError) -> Double {
        guard let number = value.doubleValue, number.isFinite else { throw mismatch("a number") }
        guard range.contains(number) else { throw outOfRange(range.lowerBound, range.upperBound) }
        return number
    }

    func object() throws(GatewayError) -> JSONObject {
        guard case .object(let object) = value else { throw mismatch("an object") }
        return object
    }

    /// A string, or an array of strings.
    func strings() throws(GatewayError) -> [String] {
        if case .string(let text) = value { return [text] }
        var result: [String] = []
        for element in try elements() { result.append(try element.string()) }
        return result
    }

    func invalid(_ message: String) -> GatewayError {
        GatewayError.invalidRequest("\(path): \(message)", parameter: path)
    }

    private func mismatch(_ expected: String) -> GatewayError {
        invalid("expected \(expected), found \(value.typeName)")
    }

    private func outOfRange(_ low: some Numeric, _ high: some Numeric) -> GatewayError {
        invalid("must be between \(low) and \(high)")
    }

    private func join(_ name: String) -> String {
        FieldPath.member(of: location, name).description
    }
}

/// Where a field lies in a body, kept as the steps that reached it. Most requests are valid, so a path is
/// rarely spelled out; building its string for every field read cost a string interpolation per field.
private indirect enum FieldPath: CustomStringConvertible {
    case root
    case member(of: FieldPath, String)
    case element(of: FieldPath, Int)

    var description: String {
        switch self {
        case .root: ""
        case .member(let parent, let name):
            switch parent {
            case .root: name
            default: "\(parent.description).\(name)"
            }
        case .element(let parent, let index): "\(parent.description)[\(index)]"
        }
    }
}

/// Parses a client body as a JSON object, or fails with a 400 that says why.
func parseRequestObject(_ bytes: some Collection<UInt8>) throws(GatewayError) -> JSONValue {
    let json: JSONValue
    do {
        json = try JSONParser.parse(bytes)
    } catch {
        throw GatewayError.invalidRequest("The request body is not valid JSON: \(error.description).")
    }
    guard case .object = json else { throw GatewayError.invalidRequest("The request body must be a JSON object.") }
    return json
}
