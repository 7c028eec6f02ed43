#if canImport(Glibc)
import Glibc
#endif

/// What `drum-monitor query` does with an answer, or says when there is none: the text and the
/// exit status of each case (see `ExitStatus`).
public enum QueryOutcome: Equatable, Sendable {
    /// Print the answer, then exit with this status (a stale /healthz is printed and fails).
    case show(exit: ExitStatus)
    /// Print the message on stderr and exit with the status.
    case fail(ExitStatus, String)

    public static func of(_ kind: QueryKind, status: Int, body: [UInt8]) -> QueryOutcome {
        let message = QueryAnswer.errorMessage(body)
        // A full server answers 503 {"error": "busy…"} before closing the connection.
        if status == 503, message.hasPrefix("busy") { return .fail(.busy, "drum-monitor is \(message)") }
        // /healthz answers 503 with its document when the samples are stale: worth showing.
        if kind == .health, status == 503 { return .show(exit: .failure) }
        if status >= 400 { return .fail(.failure, "drum-monitor: the daemon answered \(status): \(message)") }
        return .show(exit: .success)
    }

    /// Why connecting to `path` failed, in words that say what to do.
    static func connectFailure(_ path: String, errno e: Int32) -> UnixHTTPClient.Failure {
        let why = String(cString: strerror(e))
        switch e {
        case ENOENT, ECONNREFUSED:
            return .init(status: .notRunning, description: """
                drum-monitor is not running: nothing listens on \(path) (\(why)).
                See `systemctl status drum-monitor`, or pass --socket PATH (or --instance NAME) if it serves elsewhere.
                """)
        case EACCES, EPERM:
            return .init(status: .permissionDenied, description: "permission denied on \(path): this user may not connect to the daemon's socket.\n"
                         + permissionHint(path))
        default:
            return .init(status: .notRunning, description: """
                cannot connect to \(path): \(why).
                See `systemctl status drum-monitor`, or pass --socket PATH (or --instance NAME) if it serves elsewhere.
                """)
        }
    }

    /// Who may connect, from the socket file's mode and group (the daemon's default is 0660,
    /// group drum-monitor).
    static func permissionHint(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return "A directory on the way may not be searchable; ask the administrator, or run as root."
        }
        let mode = "0" + String(st.st_mode & 0o777, radix: 8)
        guard st.st_mode & 0o020 != 0, let group = groupName(st.st_gid) else {
            return "Its mode \(mode) admits only its owner: run as root, or set socket_mode 0660 and socket_group (e.g. drum-monitor) so a group may query, and join that group."
        }
        return "Join its group '\(group)' (sudo usermod -aG \(group) $USER, then log in again), or run as root."
    }

    static func groupName(_ gid: gid_t) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, let result, let name = result.pointee.gr_name else { return nil }
        return String(cString: name)
    }
}

/// `query --instance NAME`: the daemon of a template unit drum-monitor@NAME serves on
/// /run/drum-monitor/NAME.sock.
public enum Instance {
    public struct BadName: Error, CustomStringConvertible { public let description: String }

    public static func socketPath(_ name: String) throws(BadName) -> String {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"),
              !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw BadName(description: "--instance must be a name (no '/', no control characters), got '\(name)'")
        }
        let path = DaemonConfig.runDirectory + "/" + name + ".sock"
        guard path.utf8.count <= DaemonConfig.maximumSocketPathBytes else {
            throw BadName(description: "--instance '\(name)' is too long: \(path) has more than \(DaemonConfig.maximumSocketPathBytes) bytes")
        }
        return path
    }
}
