import ArgumentParser
import DaemonCore

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor query …`: asks the running daemon.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask the running daemon: snapshot | window DURATION | samples | stats | health | events.")

    @Argument(help: "snapshot, window, samples, stats, health or events.") var what: QueryKind
    @Argument(help: "For window: a duration (e.g. 60s, 5m, 1h) or a number of samples with --samples.") var duration: String?
    @Flag(name: .customLong("samples"), help: "For window: DURATION is a number of samples.") var bySamples = false
    @Option(name: .long, help: "For samples and events: only those after this sequence.") var since: UInt64?
    @Option(name: .long, help: "For samples and events: at most this many per answer.") var limit: Int?
    @Option(name: .long, help: "For events: only these kinds, comma-separated (e.g. oom_kill,worker_replaced).") var kind: String?
    @Flag(name: .long, help: "For events: keep asking every second and print new events as they come (Ctrl-C stops).") var follow = false
    @Option(name: .long, help: "Unix socket of the daemon.") var socket: String?
    @Flag(name: .long, help: "Print the daemon's JSON as is.") var json = false

    func validate() throws {
        if what == .window, duration == nil { throw ValidationError("window needs a DURATION, e.g. `query window 5m`") }
        if what != .window, duration != nil { throw ValidationError("only window takes a DURATION") }
        if what != .events, follow || kind != nil { throw ValidationError("--follow and --kind are for `query events`") }
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

    func run() throws {
        let environment = ProcessEnvironment.current()
        let path = socket ?? environment["DRUM_MONITOR_SOCKET"] ?? DaemonConfig().socket
        if what == .events {
            let client = UnixHTTPClient(socketPath: path)
            do {
                try EventsQuery(since: since, limit: limit, kinds: kind).run(
                    follow: follow, json: json, everySeconds: 1, get: { try client.get($0) },
                    // Flushed: when stdout is a pipe, print would hold --follow's lines in its buffer.
                    output: { print($0); fflush(nil) })
            } catch {
                writeStderr("drum-monitor: \(error)\n")
                throw ExitCode(error.exitCode)
            }
            return
        }
        let answer: (status: Int, body: [UInt8])
        do { answer = try UnixHTTPClient(socketPath: path).get(target()) } catch {
            writeStderr("drum-monitor: \(error)\n")
            throw ExitCode(3)
        }
        // /healthz answers 503 with a body worth showing when the sampler is stale.
        let isError = answer.status >= 400 && !(what == .health && answer.status == 503)
        if isError {
            writeStderr("drum-monitor: the daemon answered \(answer.status): \(QueryAnswer.errorMessage(answer.body))\n")
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: answer.body, as: UTF8.self), terminator: "")
        } else {
            do {
                print(try QueryAnswer.humanText(what, answer.body))
            } catch {
                writeStderr("drum-monitor: cannot read the daemon's answer: \(error)\n")
                throw ExitCode(1)
            }
        }
        if what == .health && answer.status == 503 { throw ExitCode(1) }
    }
}

extension QueryKind: ExpressibleByArgument {}
