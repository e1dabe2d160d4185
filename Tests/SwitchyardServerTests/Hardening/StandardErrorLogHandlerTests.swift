import Logging
import Testing

@testable import SwitchyardServer

/// The log handler keeps metadata set key by key in a short list in front of what was set as a whole; it
/// must read back exactly as a dictionary would, and stay small enough for a `Logger`'s inline buffer.
@Suite("Log handler: metadata as a dictionary would keep it")
struct StandardErrorLogHandlerTests {
    @Test func theHandlerFitsALoggersInlineBuffer() {
        // An existential's inline buffer is three words; past it, every logger copy that sets metadata first
        // copies a heap box.
        #expect(MemoryLayout<StandardErrorLogHandler>.size <= 3 * MemoryLayout<Int>.size)
    }

    @Test func keysSetOneAtATimeReadBackAsADictionaryWould() {
        var handler = StandardErrorLogHandler(label: "test")
        var expected: Logger.Metadata = [:]
        handler.metadata = ["base": "0", "kept": "k"]
        expected = ["base": "0", "kept": "k"]
        // Sets, overwrites (of the base and of an earlier key), removals, and enough keys to fold the list.
        let steps: [(String, Logger.MetadataValue?)] = [
            ("request.id", "r1"), ("route", "smart"), ("base", "1"), ("route", "fast"), ("kept", nil), ("gone", nil),
            ("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5"), ("f", "6"), ("a", "7"), ("request.id", nil),
        ]
        for (key, value) in steps {
            handler[metadataKey: key] = value
            expected[key] = value
            #expect(handler.metadata == expected, "after \(key)")
            for probe in ["base", "kept", "request.id", "route", "gone", "a", "f"] {
                #expect(handler[metadataKey: probe] == expected[probe], "\(probe) after \(key)")
            }
        }
        // Copies share what was set before them and part ways after.
        var copy = handler
        copy[metadataKey: "route"] = "copy"
        #expect(handler[metadataKey: "route"] == "fast")
        #expect(copy[metadataKey: "route"] == "copy")
        // Setting the whole replaces everything set key by key.
        copy.metadata = ["only": "this"]
        #expect(copy.metadata == ["only": "this"])
        #expect(copy[metadataKey: "route"] == nil)
        #expect(handler.metadata == expected)
    }

    @Test func theLevelAndProviderAreEachCopysOwn() {
        var handler = StandardErrorLogHandler(label: "test", metadataProvider: nil)
        handler.logLevel = .debug
        var copy = handler
        copy.logLevel = .error
        copy.metadataProvider = Logger.MetadataProvider { ["provided": "yes"] }
        #expect(handler.logLevel == .debug)
        #expect(handler.metadataProvider == nil)
        #expect(copy.metadataProvider?.get() == ["provided": "yes"])
        #expect(copy.label == "test")
    }
}
