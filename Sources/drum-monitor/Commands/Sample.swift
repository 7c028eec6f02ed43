import ArgumentParser
import Logging
import History
import KernelReaders
import QueryServer
import SampleModel
import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor sample`: one measurement of what the readers see now, no daemon needed.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take one measurement now (CPU over a short interval) and print it.")

    @Option(name: .long, help: "Measure this pid instead of discovering DRUM.") var pid: Int32?
    @Option(name: .customLong("root-of"), help: "Measure the DRUM root above this pid (e.g. a worker's).") var rootOf: Int32?
    @Option(name: .long, help: "Measure this cgroup (path as in /proc/PID/cgroup) instead of the target's.") var cgroup: String?
    @Option(name: .long, help: "CPU is measured over this long, e.g. 250ms.") var over: String = "250ms"
    @Flag(name: .long, help: "Print JSON (the same document as the daemon's /v1/snapshot).") var json = false

    func run() throws {
        guard let seconds = DurationText.seconds(over), seconds >= 0.01, seconds <= 60 else {
            throw ValidationError("--over must be a duration from 10ms to 60s, e.g. 250ms")
        }
        LogSetup.bootstrap(level: .warning)
        let target: TargetSpec = pid.map { .pid($0) } ?? rootOf.map { .rootOf($0) } ?? .discover
        let sampler: Sampler
        do {
            sampler = try Sampler(configuration: SamplerConfiguration(target: target, cgroupOverride: cgroup, fallbackPid: getpid()))
        } catch {
            writeStderr("drum-monitor: \(error)\n")
            throw ExitCode(1)
        }
        let intervalNanos = UInt64(seconds * 1e9)
        let history = History(capacity: 2, intervalNanos: intervalNanos)
        let first = sampler.tick()
        history.append(first.0, detail: first.1)
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&pause, &remaining) != 0 && errno == EINTR { pause = remaining }
        let second = sampler.tick()
        history.append(second.0, detail: second.1)

        let context = QueryContext(history: history) { Cadence() }
        let response = Endpoints.respond(method: .GET, uri: "/v1/snapshot", context: context)
        if json {
            print(String(decoding: response.body, as: UTF8.self), terminator: "")
        } else {
            do { print(HumanFormat.snapshot(try Documents.decode(SnapshotDocument.self, response.body))) } catch {
                writeStderr("drum-monitor: \(error)\n")
                throw ExitCode(1)
            }
        }
        if pid != nil || rootOf != nil, !second.1.target.found { throw ExitCode(1) }
    }
}
