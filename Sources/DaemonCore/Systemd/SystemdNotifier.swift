import CSystemd
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify, sd_listen_fds and sd_watchdog_enabled, through libsystemd. Without NOTIFY_SOCKET
/// (not started by systemd) every call is a no-op, as libsystemd makes it.
final class SystemdNotifier: Sendable {
    private let logger: Logger
    /// sd_notify(0, state) in production: > 0 sent, 0 no NOTIFY_SOCKET, < 0 a negative errno.
    private let send: @Sendable (String) -> Int32
    private let failureLogged = Atomic<Bool>(false)

    init(logger: Logger, send: @escaping @Sendable (String) -> Int32 = { sd_notify(0, $0) }) {
        self.logger = logger
        self.send = send
    }

    /// A failure is logged once: a socket that refuses one message (systemd gone, a full queue)
    /// would otherwise fill the log every few seconds.
    func notify(_ state: String) {
        let rc = send(state)
        guard rc < 0, !failureLogged.exchange(true, ordering: .relaxed) else { return }
        let first = state.split(separator: "\n").first.map(String.init) ?? state
        logger.warning("sd_notify \(first) failed: \(String(cString: strerror(-rc))); systemd may miss readiness, status and watchdog pings (further failures are not logged)")
    }

    func ready(status: String) { notify("READY=1\nSTATUS=\(status)") }
    func status(_ status: String) { notify("STATUS=\(status)") }
    func stopping() { notify("STOPPING=1\nSTATUS=stopping") }
    func watchdog() { notify("WATCHDOG=1") }

    /// `RELOADING=1` with the CLOCK_MONOTONIC time, as Type=notify-reload expects. The shipped
    /// unit is Type=notify with ExecReload= (notify-reload needs systemd 253; Debian 12 ships
    /// 252), which accepts the same message, so the daemon needs no change when the unit moves to it.
    func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
        notify("RELOADING=1\nMONOTONIC_USEC=\(usec)\nSTATUS=reloading configuration")
    }

    /// The watchdog interval systemd expects pings within, or nil when there is no watchdog.
    func watchdogInterval() -> UInt64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return usec
    }

    /// A listening socket passed by systemd (socket activation). `sd_listen_fds(1)` unsets
    /// LISTEN_* so that children do not inherit them.
    func listenDescriptor() throws(SocketActivationError) -> Int32? {
        let n = sd_listen_fds(1)
        if n < 0 { throw SocketActivationError(description: "sd_listen_fds failed: \(String(cString: strerror(-n)))") }
        if n == 0 { return nil }
        if n > 1 { throw SocketActivationError(description: "systemd passed \(n) sockets; drum-monitor serves exactly one") }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, SOCK_STREAM_VALUE, 1, nil, 0) > 0 else {
            throw SocketActivationError(description: "fd \(fd) from systemd is not a listening Unix stream socket")
        }
        return fd
    }

    private var SOCK_STREAM_VALUE: Int32 { Int32(SOCK_STREAM.rawValue) }
}

struct SocketActivationError: Error, CustomStringConvertible {
    let description: String
}
