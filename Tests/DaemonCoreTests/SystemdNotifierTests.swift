import Synchronization
import Testing
@testable import DaemonCore

@Suite struct SystemdNotifierTests {
    final class Sent: Sendable {
        let states = Mutex<[String]>([])
    }

    /// A failing sd_notify is logged once, as a warning naming the message and the error; later
    /// failures are not, so a missing socket cannot fill the log every few seconds.
    @Test func aFailedNotifyIsLoggedOnce() {
        let log = CapturedLog()
        let sent = Sent()
        let notifier = SystemdNotifier(logger: log.logger(journal: true)) { state in
            sent.states.withLock { $0.append(state) }
            return -111 // ECONNREFUSED
        }
        notifier.ready(status: "watching")
        notifier.watchdog()
        notifier.status("still watching")
        #expect(sent.states.withLock { $0 } == ["READY=1\nSTATUS=watching", "WATCHDOG=1", "STATUS=still watching"])
        #expect(log.lines.count == 1, "\(log.lines)")
        let line = log.lines.first ?? ""
        #expect(line.hasPrefix("<4>sd_notify READY=1 failed: Connection refused"), "\(line)")
    }

    /// 0 (no NOTIFY_SOCKET: not run by systemd) and success are not worth a line.
    @Test(arguments: [0, 1] as [Int32])
    func noSocketOrSuccessLogsNothing(_ rc: Int32) {
        let log = CapturedLog()
        let notifier = SystemdNotifier(logger: log.logger(journal: true)) { _ in rc }
        notifier.ready(status: "x")
        notifier.stopping()
        #expect(log.lines.isEmpty)
    }
}
