import ArgumentParser
import DaemonCore
import SampleModel

/// `drum-monitor top`: the live view of the running daemon.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view of the running daemon: memory against the limit, peaks, CPU, the processes and the latest events.",
        discussion: """
        The header names what is watched (mode, root pid, generation, how long it has been up), the cgroup and the age of the newest sample. Memory: a bar of the cgroup's memory against its effective limit, with marks for the window's maximum (\(TopCommand.marks.max)) and the last interval's peak (\(TopCommand.marks.peak)), the working set, OOM kills, where the limit comes from, and a sparkline of the maximum over the window. CPU: the tree's and the cgroup's cores against the quota, the throttled share, a sparkline of the tree's average. The processes: pid, role, RSS, CPU and command line; new ones are marked + and vanished ones - for 3 samples. The latest events (OOM kills, replaced workers, limit crossings) when the daemon reports events.

        Keys: q quits (also Ctrl-C), w cycles the window (1m, 5m, 1h and the --window given), s cycles the order of the processes (pid, rss, cpu), Ctrl-L redraws, Ctrl-Z suspends.

        It refreshes just after each of the daemon's samples, at most 4 times a second, on one kept-alive connection. While the daemon is down it says so and reconnects when it is back. Without a terminal (a pipe, a file) it prints a plain frame for each new sample; --once prints one frame and exits. Colour is off when NO_COLOR is set or the output is not a terminal; block characters need a UTF-8 locale (otherwise ASCII).

        The daemon is found at --socket PATH, else --instance NAME (\(DaemonConfig.runDirectory)/NAME.sock, as served by drum-monitor@NAME), else $DRUM_MONITOR_SOCKET, else \(DaemonConfig().socket).

        \(ExitStatus.helpSection)
        """)

    static let marks = (max: "┃", peak: "╎")

    @Option(name: .long, help: "The window of the sparklines and the maximum: a duration (1m, 5m, 1h, 90s).") var window = "5m"
    @Flag(name: .long, help: "Print one frame and exit (for scripts); its exit status is that of query.") var once = false
    @Option(name: .long, help: "Unix socket of the daemon.") var socket: String?
    @Option(name: .long, help: "The daemon of drum-monitor@NAME: its socket is \(DaemonConfig.runDirectory)/NAME.sock.") var instance: String?

    func validate() throws {
        guard let seconds = DurationText.secondsOrNumber(window), seconds > 0, seconds <= 315_360_000 else {
            throw ValidationError("--window must be a duration such as 1m, 5m or 1h (at most 10 years), got '\(window)'")
        }
        _ = seconds
        if socket != nil, instance != nil { throw ValidationError("give --socket or --instance, not both") }
        if let instance { do { _ = try Instance.socketPath(instance) } catch { throw ValidationError("\(error)") } }
        if let socket, socket.utf8.count > 107 { throw ValidationError("--socket: a Unix socket path has at most 107 bytes") }
    }

    func socketPath() throws -> String {
        if let socket { return socket }
        if let instance { return try Instance.socketPath(instance) }
        return ProcessEnvironment.current()["DRUM_MONITOR_SOCKET"] ?? DaemonConfig().socket
    }

    func run() throws {
        let options = TopOptions(socketPath: try socketPath(), windowSeconds: DurationText.secondsOrNumber(window) ?? 300, once: once)
        let status = Top.run(options)
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
