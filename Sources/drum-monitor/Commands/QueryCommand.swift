import ArgumentParser
import DaemonCore
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor query …`: asks the running daemon.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask the running daemon: snapshot | window DURATION | window --from T --to T | samples | stats | health | events.",
        discussion: """
        \(DaemonSocketOptions.discussion)

        \(ExitStatus.helpSection)
        """)

    @Argument(help: "snapshot, window, samples, stats, health or events.") var what: QueryKind
    @Argument(help: "For window: a duration (e.g. 60s, 5m, 1h) or a number of samples with --samples.") var duration: String?
    @Flag(name: .customLong("samples"), help: "For window: DURATION is a number of samples.") var bySamples = false
    @Option(name: .long, help: "For window: from this wall-clock time (RFC 3339, e.g. 2026-05-01T14:00:00Z, or Unix seconds), with --to.") var from: String?
    @Option(name: .long, help: "For window: up to this wall-clock time, with --from.") var to: String?
    @Option(name: .long, help: "For window: the DURATION up to this wall-clock time (instead of up to the newest sample).") var end: String?
    @Option(name: .long, help: "For samples and events: only those after this sequence.") var since: UInt64?
    @Option(name: .long, help: "For samples and events: at most this many per answer.") var limit: Int?
    @Option(name: .long, help: "For events: only these kinds, comma-separated (e.g. oom_kill,worker_replaced).") var kind: String?
    @Flag(name: .long, help: "For events: keep asking every second and print new events as they come (Ctrl-C stops).") var follow = false
    @OptionGroup var daemon: DaemonSocketOptions
    @Flag(name: .long, help: "Print the daemon's JSON as is.") var json = false

    func validate() throws {
        if what == .window, duration == nil, from == nil, to == nil {
            throw ValidationError("window needs a DURATION or --from and --to, e.g. `query window 5m` or `query window --from 2026-05-01T14:00:00Z --to 2026-05-01T14:05:00Z`")
        }
        if what != .window, duration != nil { throw ValidationError("only window takes a DURATION") }
        if what != .window, bySamples || from != nil || to != nil || end != nil {
            throw ValidationError("--samples, --from, --to and --end apply only to window")
        }
        if (from == nil) != (to == nil) { throw ValidationError("give both --from and --to") }
        if from != nil, duration != nil { throw ValidationError("give a DURATION or --from and --to, not both") }
        if end != nil, duration == nil || bySamples { throw ValidationError("--end needs a DURATION (the window is the DURATION up to --end)") }
        for (name, value) in [("--from", from), ("--to", to), ("--end", end)] {
            if let value, WallTimeText.nanos(value) == nil {
                throw ValidationError("\(name): '\(value)' is not a time in RFC 3339 (2026-05-01T14:00:00Z, 2026-05-01T16:00:00+02:00) or Unix seconds (1777644000.5)")
            }
        }
        if what != .samples, what != .events, since != nil { throw ValidationError("--since applies only to samples and events") }
        if what != .samples, what != .events, limit != nil { throw ValidationError("--limit applies only to samples and events") }
        if what != .events, follow || kind != nil { throw ValidationError("--follow and --kind apply only to events") }
    }

    func target() -> String {
        switch what {
        case .snapshot: return "/v1/snapshot"
        case .health: return "/healthz"
        case .stats: return "/stats/"
        case .window:
            if let from, let to { return "/v1/window?from=\(Self.encoded(from))&to=\(Self.encoded(to))" }
            if bySamples { return "/v1/window?samples=\(Self.encoded(duration ?? ""))" }
            return "/v1/window?seconds=\(Self.encoded(duration ?? ""))" + (end.map { "&end=\(Self.encoded($0))" } ?? "")
        case .samples:
            var query: [String] = []
            if let since { query.append("since=\(since)") }
            if let limit { query.append("limit=\(limit)") }
            return "/v1/samples" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        case .events:
            return EventsQuery(since: since, limit: limit, kinds: kind).target()
        }
    }

    /// A query-string value: anything but letters, digits and `-._~:` percent-encoded (a `+`
    /// in an RFC 3339 offset must arrive as `+`, not as a space).
    static func encoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }


    func run() throws {
        if what == .events {
            let client = UnixHTTPClient(socketPath: try daemon.path())
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
        do { answer = try UnixHTTPClient(socketPath: try daemon.path()).get(target()) } catch let failure as UnixHTTPClient.Failure {
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
