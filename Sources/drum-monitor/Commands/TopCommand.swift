import ArgumentParser
import DaemonCore
import SampleModel

/// `drum-monitor top`: the live view of the running daemon.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view of the running daemon: memory against the limit, peaks, CPU, the processes and the latest events.",
        discussion: """
        The header names what is watched (mode, root pid, generation, how long it has been up), the cgroup and the age of the newest sample. Memory: a bar of the cgroup's memory against its effective limit, with marks for the window's maximum (┃, or | in ASCII) and the last interval's peak (╎, or !), the working set, OOM kills, where the limit comes from, and a sparkline of the maximum over the window. CPU: the tree's and the cgroup's cores against the quota, the throttled share, a sparkline of the tree's average. The processes: pid, role, RSS, CPU and command line; new ones are marked + and vanished ones - for 3 samples. The latest events (OOM kills, replaced workers, limit crossings) when the daemon reports events.

        Keys: q quits (also Ctrl-C), w cycles the window (1m, 5m, 1h and the --window given), s cycles the order of the processes (pid, rss, cpu), Ctrl-L redraws, Ctrl-Z suspends.

        It refreshes just after each of the daemon's samples, at most 4 times a second, on one kept-alive connection. While the daemon is down it says so and reconnects when it is back. Without a terminal (a pipe, a file) it prints a plain frame for each new sample; --once prints one frame and exits with the statuses of query (3: not running, 4: permission denied, 5: busy); the live view waits for the daemon and exits 0 on q. Colour is off when NO_COLOR is set or the output is not a terminal; block characters need a UTF-8 locale (otherwise ASCII).

        \(DaemonSocketOptions.discussion)

        \(ExitStatus.helpSection)
        """)

    @Option(name: .long, help: "The window of the sparklines and the maximum: a duration (1m, 5m, 1h, 90s).") var window = "5m"
    @Flag(name: .long, help: "Print one frame and exit (for scripts); its exit status is that of query.") var once = false
    @OptionGroup var daemon: DaemonSocketOptions

    /// --window in seconds; nil when it is not a duration the daemon takes (0 < d ≤ 10 years).
    var windowSeconds: Double? {
        DurationText.secondsOrNumber(window).flatMap { $0 > 0 && $0 <= 315_360_000 ? $0 : nil }
    }

    func validate() throws {
        if windowSeconds == nil { throw ValidationError("--window must be a duration such as 1m, 5m or 1h (at most 10 years), got '\(window)'") }
    }

    func run() throws {
        let options = TopOptions(socketPath: try daemon.path(), windowSeconds: windowSeconds ?? 300, once: once)
        let status = Top.run(options)
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
