public import Foundation
public import SwitchyardCore

/// Sample payloads from `shared/fixtures/providers` (the provider wire reference's fixtures).
///
/// Found through `SWITCHYARD_FIXTURES`, else by walking up from the working directory and from this
/// source file to a folder that has `shared/fixtures/providers` (CI lays `shared/` beside the clone),
/// else the copy in `Tests/Fixtures/providers` (every provider set and the translation set), so a lone
/// clone still runs every test.
public enum Fixtures {
    public static let directory: String? = {
        if let explicit = ProcessInfo.processInfo.environment["SWITCHYARD_FIXTURES"] { return explicit }
        let starts = [FileManager.default.currentDirectoryPath, URL(fileURLWithPath: #filePath).deletingLastPathComponent().path]
        for start in starts {
            var url = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                let candidate = url.appendingPathComponent("shared/fixtures/providers").path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                url.deleteLastPathComponent()
            }
        }
        let bundled = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures/providers").path
        return FileManager.default.fileExists(atPath: bundled) ? bundled : nil
    }()

    /// The bytes of `relativePath` (for example `openai/chat_response_tool_calls.json`).
    public static func data(_ relativePath: String) throws -> Data {
        guard let directory else { throw FixtureError(message: "shared/fixtures/providers not found; set SWITCHYARD_FIXTURES") }
        let path = directory + "/" + relativePath
        guard let data = FileManager.default.contents(atPath: path) else { throw FixtureError(message: "missing fixture \(path)") }
        return data
    }

    public static func text(_ relativePath: String) throws -> String {
        String(decoding: try data(relativePath), as: UTF8.self)
    }

    public static func json(_ relativePath: String) throws -> JSONValue {
        try JSONParser.parse(Array(try data(relativePath)))
    }

    public struct FixtureError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
