import FoundationEssentials
import Logging
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// Where log lines go. Each `write` is one whole line, so lines logged from several threads never
/// interleave. Stderr in production (`StandardErrorStream`); tests pass a buffer.
public protocol LogOutputStream: TextOutputStream, Sendable {}

/// stderr, unbuffered: each line goes out in one write(2) loop.
public struct StandardErrorStream: LogOutputStream {
    public init() {}
    public mutating func write(_ string: String) { writeStderr(string) }
}

/// swift-log handler writing one line per message to a stream, as swift-log's
/// `StreamLogHandler` does. Under systemd (JOURNAL_STREAM set) each line starts with its syslog
/// priority, `<2>`…`<7>`, so journald keeps the level (and strips the prefix); elsewhere text
/// lines carry a timestamp and the level in words. In JSON format the rest of the line is one
/// object: `{"time":…,"level":…,"message":…}`, plus `"metadata":{…}` when there is any.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let journal: Bool
    let format: LogFormat
    private let stream: any LogOutputStream

    public init(label: String, level: Logger.Level, journal: Bool, format: LogFormat = .text,
                stream: any LogOutputStream = StandardErrorStream()) {
        self.label = label
        self.logLevel = level
        self.journal = journal
        self.format = format
        self.stream = stream
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        var line = journal ? "<\(Self.priority(event.level))>" : ""
        let all = metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }
        switch format {
        case .text:
            if !journal { line += "\(RFC3339.format(wallNanos: Clock.wallNanos())) \(event.level.rawValue.uppercased()) " }
            line += event.message.description
            if !all.isEmpty { line += " " + all.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        case .json:
            line += "{\"time\":\(Self.json(RFC3339.format(wallNanos: Clock.wallNanos()))),\"level\":\(Self.json(event.level.rawValue))"
            line += ",\"message\":\(Self.json(event.message.description))"
            if !all.isEmpty {
                line += ",\"metadata\":{" + all.map { "\(Self.json($0.key)):\(Self.json("\($0.value)"))" }.joined(separator: ",") + "}"
            }
            line += "}"
        }
        line += "\n"
        var stream = self.stream
        stream.write(line)
    }

    /// A JSON string (quoted and escaped; newlines in a message stay inside its one line).
    static func json(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }
}

public enum LogSetup {
    /// Sets up swift-log once per process (swift-log allows only one bootstrap): stderr, with
    /// journald's priority prefixes when JOURNAL_STREAM says stderr is the journal.
    public static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        let journal = getenv("JOURNAL_STREAM") != nil
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, journal: journal, format: format) }
    }
}
