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
/// priority, `<2>`…`<7>`, so journald keeps the level; elsewhere lines carry a timestamp and the
/// level in words.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let journal: Bool
    private let stream: any LogOutputStream

    public init(label: String, level: Logger.Level, journal: Bool, stream: any LogOutputStream = StandardErrorStream()) {
        self.label = label
        self.logLevel = level
        self.journal = journal
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
        var line = journal ? "<\(Self.priority(event.level))>" : "\(RFC3339.format(wallNanos: Clock.wallNanos())) \(event.level.rawValue.uppercased()) "
        line += event.message.description
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        if !all.isEmpty { line += " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        line += "\n"
        var stream = self.stream
        stream.write(line)
    }
}

public enum LogSetup {
    /// Sets up swift-log once per process (swift-log allows only one bootstrap): stderr, with
    /// journald's priority prefixes when JOURNAL_STREAM says stderr is the journal.
    public static func bootstrap(level: Logger.Level) {
        let journal = getenv("JOURNAL_STREAM") != nil
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, journal: journal) }
    }
}
