#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging

/// Log lines to standard error, like swift-log's StreamLogHandler, except that metadata is rendered when a
/// line is written rather than each time it is set: every request sets its id on a logger, and few log.
///
/// The handler fits a `Logger`'s inline existential buffer (three words), so a logger copy that sets
/// metadata does not first copy a heap box: what copies share (label, metadata provider, metadata set as a
/// whole) sits in one box, and metadata set one key at a time (a request's id and route) is kept as a short list in front of the
/// dictionary, one small allocation per key instead of copying and rehashing the dictionary.
public struct StandardErrorLogHandler: LogHandler {
    private final class Shared: Sendable {
        let label: String
        let metadataProvider: Logger.MetadataProvider?
        let metadata: Logger.Metadata

        init(label: String, metadataProvider: Logger.MetadataProvider?, metadata: Logger.Metadata) {
            self.label = label
            self.metadataProvider = metadataProvider
            self.metadata = metadata
        }
    }

    /// One key set on top of the metadata below it (latest first; a nil value removes the key).
    private final class Overlay: Sendable {
        let key: String
        let value: Logger.Metadata.Value?
        let below: Overlay?
        let depth: Int

        init(key: String, value: Logger.Metadata.Value?, below: Overlay?) {
            self.key = key
            self.value = value
            self.below = below
            depth = (below?.depth ?? 0) + 1
        }
    }

    /// Keys set one at a time are folded into the dictionary past this many.
    private static let overlayLimit = 8

    private var shared: Shared
    private var overlay: Overlay?
    public var logLevel: Logger.Level = .info

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        shared = Shared(label: label, metadataProvider: metadataProvider, metadata: [:])
    }

    public var label: String { shared.label }

    public var metadataProvider: Logger.MetadataProvider? {
        get { shared.metadataProvider }
        set { shared = Shared(label: shared.label, metadataProvider: newValue, metadata: shared.metadata) }
    }

    public var metadata: Logger.Metadata {
        get {
            var all = shared.metadata
            var layers: [Overlay] = []
            var layer = overlay
            while let current = layer {
                layers.append(current)
                layer = current.below
            }
            for current in layers.reversed() { all[current.key] = current.value }
            return all
        }
        set {
            shared = Shared(label: shared.label, metadataProvider: shared.metadataProvider, metadata: newValue)
            overlay = nil
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get {
            var layer = overlay
            while let current = layer {
                if current.key == key { return current.value }
                layer = current.below
            }
            return shared.metadata[key]
        }
        set {
            overlay = Overlay(key: key, value: newValue, below: overlay)
            if overlay!.depth > Self.overlayLimit { metadata = metadata }
        }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        var line = Self.timestamp() + " " + event.level.rawValue + " " + label + ":"
        if !all.isEmpty {
            line += " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += " " + event.message.description + "\n"
        // One write(2) per line, so lines from different threads never interleave.
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { break }
            offset += written
        }
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
