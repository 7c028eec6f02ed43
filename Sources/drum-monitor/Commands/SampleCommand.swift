import ArgumentParser
import DaemonCore
import SampleModel

/// `drum-monitor sample`: one measurement of what the readers see now, no daemon needed.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Take one measurement now (CPU over a short interval) and print it.",
        discussion: ExitStatus.helpSection)

    // Unconditional: `--pid -5` is a pid to refuse, not a missing value followed by an option.
    @Option(name: .long, parsing: .unconditional, help: "Measure this pid instead of discovering DRUM.") var pid: Int32?
    @Option(name: .customLong("root-of"), parsing: .unconditional, help: "Measure the DRUM root above this pid (e.g. a worker's).") var rootOf: Int32?
    // Unconditional: the text usually starts with dashes (`--match '--address 0.0.0.0:8081'`).
    @Option(name: .long, parsing: .unconditional,
            help: "Measure the DRUM whose command line contains this text (env:NAME=VALUE: whose environment has it), as serve's match setting finds it.")
    var match: String?
    @Option(name: .long, help: "Measure this cgroup (path as in /proc/PID/cgroup) instead of the target's.") var cgroup: String?
    @Option(name: .long, help: "CPU is measured over this long, e.g. 250ms.") var over: String = "250ms"
    @Flag(name: .long, help: "Print JSON (the same document as the daemon's /v1/snapshot).") var json = false

    func validate() throws {
        if let pid, pid <= 0 { throw ValidationError("--pid must be a positive pid, got \(pid)") }
        if let rootOf, rootOf <= 0 { throw ValidationError("--root-of must be a positive pid, got \(rootOf)") }
        if [pid != nil, rootOf != nil, match != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --pid, --root-of and --match")
        }
        if let match, !match.isEmpty, let problem = OneShotSample.problem(match: match) { throw ValidationError("--match \(problem)") }
        guard let seconds = DurationText.seconds(over), seconds >= 0.01, seconds <= 60 else {
            throw ValidationError("--over must be a duration from 10ms to 60s, e.g. 250ms")
        }
    }

    func run() throws {
        let seconds = DurationText.seconds(over) ?? 0.25
        LogSetup.bootstrap(level: .warning)
        let result: OneShotSample.Result
        do {
            result = try OneShotSample.take(pid: pid, rootOf: rootOf, match: match, cgroup: cgroup, overSeconds: seconds)
        } catch {
            writeStderr("drum-monitor: \(error)\n")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
        if json {
            print(String(decoding: result.snapshot, as: UTF8.self), terminator: "")
        } else {
            do { print(try QueryAnswer.humanText(.snapshot, result.snapshot)) } catch {
                writeStderr("drum-monitor: \(error)\n")
                throw ExitCode(ExitStatus.failure.rawValue)
            }
        }
        if pid != nil || rootOf != nil || match?.isEmpty == false, !result.targetFound { throw ExitCode(ExitStatus.failure.rawValue) }
    }
}
