import Logging
import Synchronization
@testable import DaemonCore

/// A log stream that keeps what is written, for asserting on exact lines.
final class CapturedLog: LogOutputStream {
    private let written = Mutex<[String]>([])

    func write(_ string: String) { written.withLock { $0.append(string) } }

    /// Everything written, split into lines.
    var lines: [String] { written.withLock { $0.joined() }.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

    func logger(level: Logger.Level = .trace, journal: Bool) -> Logger {
        Logger(label: "test") { label in LineLogHandler(label: label, level: level, journal: journal, stream: self) }
    }
}
