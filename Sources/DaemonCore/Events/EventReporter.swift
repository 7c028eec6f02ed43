import CSystemd
import Dispatch
import Logging
import SampleModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where each event is told as it happens: under systemd, one journal entry with a fixed
/// MESSAGE_ID per kind and the event's fields (`EventJournal`); elsewhere one log line. Told on a
/// queue of its own: a journald (or a stderr pipe) that does not read must not hold up sampling.
final class EventReporter: Sendable {
    enum Destination: Sendable, Equatable {
        case journal
        case log
    }

    let destination: Destination
    private let logger: Logger
    /// sd_journal_sendv in production: 0 sent, a negative errno otherwise.
    private let sendEntry: @Sendable ([String]) -> Int32
    private let failureLogged = Atomic<Bool>(false)
    private let queue = DispatchQueue(label: "drum-monitor.events")

    init(destination: Destination, logger: Logger, send: @escaping @Sendable ([String]) -> Int32 = EventJournal.send) {
        self.destination = destination
        self.logger = logger
        sendEntry = send
    }

    /// The journal when stderr is the journal (systemd sets JOURNAL_STREAM to its device and
    /// inode, the documented test), else the log.
    static func destination(environment: [String: String]) -> Destination {
        guard let stream = environment["JOURNAL_STREAM"] else { return .log }
        var st = stat()
        guard fstat(STDERR_FILENO, &st) == 0 else { return .log }
        return stream == "\(st.st_dev):\(st.st_ino)" ? .journal : .log
    }

    func report(_ event: EventRecord) {
        queue.async { [self] in tell(event) }
    }

    /// Returns once every event reported so far has been told.
    func flush() { queue.sync {} }

    private func tell(_ event: EventRecord) {
        if destination == .journal {
            let rc = sendEntry(EventJournal.fields(event))
            if rc >= 0 { return }
            if !failureLogged.exchange(true, ordering: .relaxed) {
                logger.warning("sd_journal_sendv failed: \(String(cString: strerror(-rc))); events go to the log instead (further failures are not logged)")
            }
        }
        logger.log(level: event.kind.isWarning ? .warning : .notice, "event \(event.sequence) \(event.kind.name): \(event.message)")
    }
}
