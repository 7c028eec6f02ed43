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

    /// The listening sockets systemd passed (socket activation), told apart by their names
    /// (LISTEN_FDNAMES, `FileDescriptorName=`): `metrics` is the TCP listener of
    /// drum-monitor-metrics.socket; any other name (systemd's default is the socket unit's name)
    /// is the query socket, which must be a Unix stream socket. `sd_listen_fds_with_names(1)`
    /// unsets LISTEN_* so that children do not inherit them.
    func listenDescriptors() throws(SocketActivationError) -> InheritedSockets {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let n = sd_listen_fds_with_names(1, &names)
        defer {
            if let names {
                for i in 0..<Int(Swift.max(n, 0)) { free(names[i]) }
                free(names)
            }
        }
        if n < 0 { throw SocketActivationError(description: "sd_listen_fds_with_names failed: \(String(cString: strerror(-n)))") }
        var sockets = InheritedSockets()
        for i in 0..<n {
            let fd = SD_LISTEN_FDS_START + i
            let name = names?[Int(i)].map { String(cString: $0) } ?? ""
            if name == InheritedSockets.metricsName {
                guard sockets.metrics == nil else {
                    throw SocketActivationError(description: "systemd passed two sockets named '\(name)'; drum-monitor serves one metrics listener")
                }
                guard sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM_VALUE, 1) > 0 else {
                    throw SocketActivationError(description: "fd \(fd) ('\(name)') from systemd is not a listening stream socket")
                }
                sockets.metrics = fd
            } else {
                guard sockets.query == nil else {
                    throw SocketActivationError(description: "systemd passed \(n) sockets (\(Self.names(names, n))); drum-monitor serves one query socket, and one named '\(InheritedSockets.metricsName)' for /metrics")
                }
                guard sd_is_socket_unix(fd, SOCK_STREAM_VALUE, 1, nil, 0) > 0 else {
                    throw SocketActivationError(description: "fd \(fd) ('\(name)') from systemd is not a listening Unix stream socket (name a TCP socket FileDescriptorName=\(InheritedSockets.metricsName) to serve /metrics on it)")
                }
                sockets.query = fd
            }
        }
        return sockets
    }

    private static func names(_ names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ n: Int32) -> String {
        (0..<Int(Swift.max(n, 0))).map { i in names?[i].map { "'" + String(cString: $0) + "'" } ?? "unnamed" }.joined(separator: ", ")
    }

    private var SOCK_STREAM_VALUE: Int32 { Int32(SOCK_STREAM.rawValue) }
}

/// What systemd passed: the query socket and the metrics listener, each optional.
struct InheritedSockets: Equatable {
    static let metricsName = "metrics"
    var query: Int32?
    var metrics: Int32?
}

struct SocketActivationError: Error, CustomStringConvertible {
    let description: String
}
