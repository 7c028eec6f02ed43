import ArgumentParser
import DaemonCore

/// `--socket PATH | --instance NAME`: where the running daemon listens, for the commands that
/// ask it.
struct DaemonSocketOptions: ParsableArguments {
    @Option(name: .long, help: "Unix socket of the daemon.") var socket: String?
    @Option(name: .long, help: "The daemon of drum-monitor@NAME: its socket is \(DaemonConfig.runDirectory)/NAME.sock.") var instance: String?

    static let discussion = "The daemon is found at --socket PATH, else --instance NAME (\(DaemonConfig.runDirectory)/NAME.sock, as served by drum-monitor@NAME), else $DRUM_MONITOR_SOCKET, else \(DaemonConfig().socket)."

    func validate() throws {
        if socket != nil, instance != nil { throw ValidationError("give --socket or --instance, not both") }
        if let instance { do { _ = try Instance.socketPath(instance) } catch { throw ValidationError("\(error)") } }
        if let socket, socket.utf8.count > 107 { throw ValidationError("--socket: a Unix socket path has at most 107 bytes") }
    }

    func path() throws -> String {
        if let socket { return socket }
        if let instance { return try Instance.socketPath(instance) }
        return ProcessEnvironment.current()["DRUM_MONITOR_SOCKET"] ?? DaemonConfig().socket
    }
}
