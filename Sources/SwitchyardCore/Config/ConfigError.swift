/// Everything wrong with a config file, each problem named by its key path.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// One problem at one key path (`providers.oai.kyes`).
    public struct Issue: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }

        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    public var issues: [Issue]

    public init(issues: [Issue]) {
        self.issues = issues
    }

    public init(path: String, message: String) {
        self.issues = [Issue(path: path, message: message)]
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
