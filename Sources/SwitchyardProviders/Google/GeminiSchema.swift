import SwitchyardCore

/// JSON Schema reduced to what Gemini's `parametersJsonSchema` / `responseJsonSchema` accept.
///
/// Annotations Gemini does not know are dropped, local `$ref`s are inlined, `const` becomes a one-value
/// `enum`; keywords whose meaning cannot be kept (conditionals, negation, pattern-keyed properties) are a
/// 400 that names them, so a tool never silently loses a constraint.
enum GeminiSchema {
    private static let dropped: Set<String> = ["$schema", "$id", "$comment", "$defs", "definitions", "$anchor"]
    private static let inexpressible: Set<String> = [
        "not", "if", "then", "else", "patternProperties", "dependentSchemas", "dependentRequired", "unevaluatedProperties",
        "unevaluatedItems", "contains", "minContains", "maxContains", "$dynamicRef", "$recursiveRef",
    ]
    /// Deeper than this is refused: schemas come from clients, and recursion must stay bounded.
    static let maximumDepth = 48

    /// - Parameter context: what the schema belongs to, for the error (`tools[get_weather].parameters`).
    static func reduce(_ schema: JSONValue, context: String, parameter: String) throws(GatewayError) -> JSONValue {
        let definitions = (schema["$defs"] ?? schema["definitions"])?.objectValue ?? JSONObject()
        var reducer = Reducer(definitions: definitions, context: context, parameter: parameter)
        return try reducer.reduce(schema, depth: 0, path: "")
    }

    private struct Reducer {
        let definitions: JSONObject
        let context: String
        let parameter: String
        /// Definitions being inlined: a `$ref` back into one of them is recursion Gemini cannot express.
        var inlining: [String] = []

        mutating func reduce(_ value: JSONValue, depth: Int, path: String) throws(GatewayError) -> JSONValue {
            guard depth < GeminiSchema.maximumDepth else { throw failure("is nested more than \(GeminiSchema.maximumDepth) levels deep", path) }
            switch value {
            case .array(let items):
                var reduced: [JSONValue] = []
                for (offset, item) in items.enumerated() { reduced.append(try reduce(item, depth: depth + 1, path: "\(path)/\(offset)")) }
                return .array(reduced)
            case .object(let object):
                return try reduceObject(object, depth: depth, path: path)
            default:
                return value
            }
        }

        private mutating func reduceObject(_ object: JSONObject, depth: Int, path: String) throws(GatewayError) -> JSONValue {
            if let reference = object["$ref"]?.stringValue {
                return try inline(reference, depth: depth, path: path)
            }
            var result = JSONObject()
            for (key, member) in object {
                if GeminiSchema.dropped.contains(key) { continue }
                if GeminiSchema.inexpressible.contains(key) { throw failure("uses '\(key)', which Gemini cannot express", path) }
                switch key {
                case "const":
                    result["enum"] = [member]
                case "properties", "patternProperties":
                    // Property names are data, not keywords: reduce each value, keep every name.
                    guard case .object(let properties) = member else { result[key] = member; continue }
                    var reduced = JSONObject()
                    for (name, property) in properties {
                        reduced[name] = try reduce(property, depth: depth + 1, path: "\(path)/\(key)/\(name)")
                    }
                    result[key] = .object(reduced)
                case "enum", "required", "default", "examples", "example":
                    result[key] = member
                default:
                    result[key] = try reduce(member, depth: depth + 1, path: "\(path)/\(key)")
                }
            }
            return .object(result)
        }

        private mutating func inline(_ reference: String, depth: Int, path: String) throws(GatewayError) -> JSONValue {
            let name: String
            if reference.hasPrefix("#/$defs/") {
                name = String(reference.dropFirst(8))
            } else if reference.hasPrefix("#/definitions/") {
                name = String(reference.dropFirst(14))
            } else {
                throw failure("refers to '\(reference.prefix(100))', which Gemini cannot resolve (only local #/$defs references are inlined)", path)
            }
            guard let definition = definitions[name] else { throw failure("refers to '\(reference.prefix(100))', which is not defined", path) }
            guard !inlining.contains(name) else { throw failure("is recursive through '\(name.prefix(100))', which Gemini cannot express", path) }
            inlining.append(name)
            defer { inlining.removeLast() }
            return try reduce(definition, depth: depth + 1, path: path)
        }

        private func failure(_ problem: String, _ path: String) -> GatewayError {
            .invalidRequest("\(context): the JSON schema\(path.isEmpty ? "" : " at \(path.prefix(200))") \(problem).", parameter: parameter)
        }
    }
}
