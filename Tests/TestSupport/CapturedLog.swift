import Logging
import Synchronization

/// A swift-log handler that keeps every message, for tests that count log lines.
public final class CapturedLog: Sendable {
    public init() {}

    private let lines = Mutex<[(Logger.Level, String)]>([])

    public var messages: [(level: Logger.Level, text: String)] { lines.withLock { $0.map { (level: $0.0, text: $0.1) } } }

    public func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(log: self) }
    }

    /// Each message as "level text", for tests that match on a line.
    public var all: [String] { messages.map { "\($0.level) \($0.text)" } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lines.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }
}
