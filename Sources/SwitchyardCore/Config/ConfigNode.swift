internal import Yams

/// A YAML node plus the key path that led to it; reads typed values and reports problems by path.
struct ConfigNode {
    let node: Node
    let path: String
    let context: ConfigReadContext

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", context: context)
    }

    func element(_ index: Int, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, path: "\(path)[\(index)]", context: context)
    }

    func report(_ message: String) {
        context.issues.append(ConfigError.Issue(path: path, message: message))
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return true }
        return false
    }

    var isMapping: Bool {
        if case .mapping = node { return true }
        return false
    }

    /// The members of a mapping, reporting keys outside `allowed` as unknown.
    func mapping(allowed: Set<String>? = nil) -> [(key: String, value: ConfigNode)]? {
        guard case .mapping(let mapping) = node else {
            if !isNull { report("expected a mapping") }
            return nil
        }
        var members: [(key: String, value: ConfigNode)] = []
        var seen: Set<String> = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                report("keys must be strings")
                continue
            }
            let key = keyScalar.string
            let member = child(key, valueNode)
            if let allowed, !allowed.contains(key) {
                let hint = closest(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                member.report("unknown key\(hint)")
                continue
            }
            if !seen.insert(key).inserted { member.report("duplicate key") }
            members.append((key, member))
        }
        return members
    }

    func sequence() -> [ConfigNode]? {
        guard case .sequence(let sequence) = node else {
            if !isNull { report("expected a list") }
            return nil
        }
        return sequence.enumerated().map { element($0.offset, $0.element) }
    }

    func string() -> String? {
        guard case .scalar(let scalar) = node else {
            report("expected a string")
            return nil
        }
        do {
            return try context.substitution.resolve(scalar.string)
        } catch {
            for issue in error.issues { report(issue.message) }
            return nil
        }
    }

    func int(range: ClosedRange<Int> = 0...Int.max) -> Int? {
        guard let text = string() else { return nil }
        guard let value = Int(text.replacingUnderscores) else {
            report("expected an integer, found '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            report("must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return value
    }

    func double(range: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude) -> Double? {
        guard let text = string() else { return nil }
        guard let value = Double(text), range.contains(value) else {
            report("expected a number between \(range.lowerBound) and \(range.upperBound), found '\(text)'")
            return nil
        }
        return value
    }

    func bool() -> Bool? {
        guard let text = string() else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report("expected true or false, found '\(text)'")
            return nil
        }
    }

    func duration() -> Duration? {
        guard let text = string() else { return nil }
        guard let value = DurationParser.parse(text) else {
            if DurationParser.isTooLarge(text) {
                report("'\(text)' is too long: durations are at most \(DurationParser.maximumDays) days")
            } else {
                report("expected a duration such as 250ms, 2s, 5m or 30d, found '\(text)'")
            }
            return nil
        }
        return value
    }

    /// A list of strings, or a single string taken as a one-element list.
    func stringList() -> [String]? {
        if case .scalar = node, !isNull { return string().map { [$0] } }
        return sequence()?.compactMap { $0.string() }
    }

    private func closest(to key: String, in candidates: Set<String>) -> String? {
        var best: (name: String, distance: Int)?
        for candidate in candidates.sorted() {
            let distance = editDistance(key, candidate)
            if distance <= 2, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.name
    }

    private func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [Int](repeating: 0, count: b.count + 1)
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                let insertion = current[j - 1] + 1
                let deletion = previous[j] + 1
                current[j] = Swift.min(substitution, insertion, deletion)
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Shared state of one config read: the substitution table and the problems found so far.
final class ConfigReadContext {
    let substitution: Substitution
    var issues: [ConfigError.Issue] = []

    init(substitution: Substitution) {
        self.substitution = substitution
    }
}

extension String {
    fileprivate var replacingUnderscores: String { filter { $0 != "_" } }
}

/// Parses `250ms`, `2s`, `5m`, `1h` and `1.5s`.
public enum DurationParser {
    /// The longest duration a config may hold (ten years): anything longer is a typo, and would overflow clock arithmetic.
    public static let maximumDays = 3650

    public static func parse(_ text: String) -> Duration? {
        guard let seconds = seconds(text), seconds <= Double(maximumDays) * 86_400 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Whether `text` is a well-formed duration that exceeds ``maximumDays``.
    static func isTooLarge(_ text: String) -> Bool {
        seconds(text).map { $0 > Double(maximumDays) * 86_400 } ?? false
    }

    private static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimming([" "])
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return value * seconds
        }
        return nil
    }
}
