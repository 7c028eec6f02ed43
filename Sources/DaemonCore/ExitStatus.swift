/// The exit statuses of every drum-monitor command, in one place: the commands exit with them
/// and --help lists them (the man page is made from the same text).
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case failure = 1
    case invalidConfiguration = 2
    case notRunning = 3
    case permissionDenied = 4
    case busy = 5
    /// ArgumentParser's own code for bad arguments (EX_USAGE).
    case usage = 64

    /// One line each (ArgumentParser wraps longer lines without their indent).
    public var meaning: String {
        switch self {
        case .success: "success (query health: the samples are fresh)"
        case .failure: "failure: an error answer or stale samples, no target, an invalid file"
        case .invalidConfiguration: "serve: invalid configuration, or a history too large for its memory"
        case .notRunning: "query: the daemon is not running (nothing listens on the socket)"
        case .permissionDenied: "query: permission denied on the socket (join the group that owns it)"
        case .busy: "query: the daemon is busy (all its connections in use); try again"
        case .usage: "usage error: an argument is missing, unknown or does not apply"
        }
    }

    /// The EXIT STATUS section of each command's --help.
    public static var helpSection: String {
        "EXIT STATUS\n" + allCases.map { "  \($0.rawValue)\(String(repeating: " ", count: 4 - String($0.rawValue).count))\($0.meaning)" }.joined(separator: "\n")
    }
}
