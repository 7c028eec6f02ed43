import ArgumentParser
import DaemonCore

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor query …`: asks the running daemon.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask the running daemon: snapshot | window DURATION | samples | stats | health | events.",
        discussion: """
        The daemon is found at --socket PATH, else --instance NAME (\(DaemonConfig.runDirectory)/NAME.sock, as served by drum-monitor@NAME), else $DRUM_MONITOR_SOCKET, else \(DaemonConfig().socket).

        \(ExitStatus.helpSection)
        """)

    @Argument(help: "snapshot, window, samples, stats, health or events.") var what: QueryKind
    @Argument(help: "For window: a duration (e.g. 60s, 5m, 1h) or a number of samples with --samples.") var duration: String?
    @Flag(name: .customLong("samples"), help: "For window: DURATION is a number of samples.") var bySamples = false
    @Option(name: .long, help: "For samples and events: only those after this sequence.") var since: UInt64?
    @Option(name: .long, help: "For samples and events: at most this many per answer.") var limit: Int?
    @Option(name: .long, help: "For events: only these kinds, comma-separated (e.g. oom_kill,worker_replaced).") var kind: String?
    @Flag(name: .long, help: "For events: keep asking every second and print new events as they come (Ctrl-C stops).") var follow = false
    @Option(name: .long, help: "Unix socket of the daemon.") var socket: String?
    @Option(name: .long, help: "The daemon of drum-monitor@NAME: its socket is \(DaemonConfig.runDirectory)/NAME.sock.") var instance: String?
    @Flag(name: .long, help: "Print the daemon's JSON as is.") var json = false

    func validate() throws {
        if what == .window, duration == nil { throw ValidationError("window needs a DURATION, e.g. `query window 5m`") }
        if what != .window, duration != nil { throw ValidationError("only window takes a DURATION") }
        if what != .window, bySamples { throw ValidationError("--samples applies only to window") }
        if what != .samples, what != .events, since != nil { throw ValidationError("--since applies only to samples and events") }
        if what != .samples, what != .events, limit != nil { throw ValidationError("--limit applies only to samples and events") }
        if what != .events, follow || kind != nil { throw ValidationError("--follow and --kind apply only to events") }
        if socket != nil, instance != nil { throw ValidationError("give --socket or --instance, not both") }
        if let instance { do { _ = try Instance.socketPath(instance) } catch { throw ValidationError("\(error)") } }
        if let socket, socket.utf8.count > 107 { throw ValidationError("--socket: a Unix socket path has at most 107 bytes") }
    }

    func target() -> String {
        switch what {
        case .snapshot: return "/v1/snapshot"
        case .health: return "/healthz"
        case .stats: return "/stats/"
        case .window: return bySamples ? "/v1/window?samples=\(duration ?? "")" : "/v1/window?seconds=\(duration ?? "")"
        case .samples:
            var query: [String] = []
            if let since { query.append("since=\(since)") }
            if let limit { query.append("limit=\(limit)") }
            return "/v1/samples" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        case .events:
            return EventsQuery(since: since, limit: limit, kinds: kind).target()
        }
    }

    func socketPath() throws -> String {
        if let socket { return socket }
        if let instance { return try Instance.socketPath(instance) }
        return ProcessEnvironment.current()["DRUM_MONITOR_SOCKET"] ?? DaemonConfig().socket
    }

    func run() throws {
        if what == .events {
            let client = UnixHTTPClient(socketPath: try socketPath())
            do {
                try EventsQuery(since: since, limit: limit, kinds: kind).run(
                    follow: follow, json: json, everySeconds: 1, get: { target throws(UnixHTTPClient.Failure) in try client.get(target) },
                    // Flushed: when stdout is a pipe, print would hold --follow's lines in its buffer.
                    output: { print($0); fflush(nil) })
            } catch {
                // Typed: an EventsQuery.Failure.
                writeStderr("\(error)\n")
                throw ExitCode(error.status.rawValue)
            }
            return
        }
        let answer: (status: Int, body: [UInt8])
        do { answer = try UnixHTTPClient(socketPath: try socketPath()).get(target()) } catch let failure as UnixHTTPClient.Failure {
            writeStderr("\(failure)\n")
            throw ExitCode(failure.status.rawValue)
        }
        let exit: ExitStatus
        switch QueryOutcome.of(what, status: answer.status, body: answer.body) {
        case .fail(let status, let message):
            writeStderr("\(message)\n")
            throw ExitCode(status.rawValue)
        case .show(let status):
            exit = status
        }
        if json {
            print(String(decoding: answer.body, as: UTF8.self), terminator: "")
        } else {
            do {
                print(try QueryAnswer.humanText(what, answer.body))
            } catch {
                writeStderr("drum-monitor: cannot read the daemon's answer: \(error)\n")
                throw ExitCode(ExitStatus.failure.rawValue)
            }
        }
        if exit != .success { throw ExitCode(exit.rawValue) }
    }
}

extension QueryKind: ExpressibleByArgument {}
