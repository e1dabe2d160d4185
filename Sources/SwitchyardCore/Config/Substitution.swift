import Foundation

/// `${VAR}`, `${VAR:-default}` and `${file:PATH}` references in a config file.
///
/// References are swapped for inert placeholders before the YAML is parsed and resolved inside scalar
/// values afterwards, so a substituted secret is never read as YAML (a key containing `#`, `:` or
/// braces, or a multi-line JSON file, stays one string) and a missing variable is reported at the key
/// path that uses it.
struct Substitution: Sendable {
    private static let marker = "__SWITCHYARD_REF_"
    private var expressions: [String] = []
    let environment: [String: String]
    let baseDirectory: String?

    init(environment: [String: String], baseDirectory: String?) {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    /// Replaces every `${…}` in `text` with a placeholder and remembers the expression.
    mutating func extract(from text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                output += rest[start.lowerBound...]
                return output
            }
            expressions.append(String(rest[start.upperBound..<end]))
            output += "\(Self.marker)\(expressions.count - 1)__"
            rest = rest[rest.index(after: end)...]
        }
        output += rest
        return output
    }

    /// Resolves the placeholders in one scalar value.
    func resolve(_ scalar: String) throws(ConfigError) -> String {
        guard scalar.contains(Self.marker) else { return scalar }
        var output = ""
        var rest = Substring(scalar)
        while let start = rest.range(of: Self.marker) {
            output += rest[..<start.lowerBound]
            let digits = rest[start.upperBound...].prefix { $0.isNumber }
            guard let index = Int(digits), index < expressions.count else { break }
            output += try evaluate(expressions[index])
            rest = rest[digits.endIndex...].dropFirst(2)
        }
        output += rest
        return output
    }

    /// Every value the references resolve to (those that resolve), so error messages can hide them: a
    /// substituted value is usually a secret.
    var resolvedValues: [String] {
        expressions.compactMap { try? evaluate($0) }
    }

    private func evaluate(_ expression: String) throws(ConfigError) -> String {
        if expression.hasPrefix("file:") {
            var path = String(expression.dropFirst(5))
            if !path.hasPrefix("/"), let baseDirectory { path = baseDirectory + "/" + path }
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ConfigError(path: "", message: "cannot read file '\(path)' referenced by ${\(expression)}")
            }
            return text.hasSuffix("\n") ? String(text.dropLast()) : text
        }
        if let separator = expression.range(of: ":-") {
            let name = String(expression[..<separator.lowerBound])
            let fallback = String(expression[separator.upperBound...])
            if let value = environment[name], !value.isEmpty { return value }
            return fallback
        }
        guard let value = environment[expression] else {
            throw ConfigError(path: "", message: "environment variable \(expression) is not set (write ${\(expression):-} to allow it to be empty)")
        }
        return value
    }
}
