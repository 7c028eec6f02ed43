import History
import KernelReaders
import QueryServer
import SampleModel
import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor sample`: two ticks of a fresh sampler, `seconds` apart (so CPU has two
/// readings), answered as the daemon's /v1/snapshot would answer them. No daemon needed.
public enum OneShotSample {
    public struct Result: Sendable {
        /// The /v1/snapshot document.
        public var snapshot: [UInt8]
        public var targetFound: Bool
    }

    /// What is wrong with `match` text (as the `match` setting takes it), or nil.
    public static func problem(match text: String) -> String? {
        do throws(DrumMatch.Invalid) { _ = try DrumMatch.parse(text) } catch { return error.description }
        return nil
    }

    public struct NoSuchProcess: Error, CustomStringConvertible {
        public let pid: Int32
        public var description: String { "no process with pid \(pid)" }
    }

    /// `pid`, else `rootOf`, else discovery picks the target (the DRUM that matches `match`, if
    /// given); `cgroup` overrides its cgroup. A pid no process has is an error (`NoSuchProcess`),
    /// not a measurement of something else.
    public static func take(pid: Int32?, rootOf: Int32?, match: String? = nil, cgroup: String?,
                            overSeconds seconds: Double) throws -> Result {
        // kill(pid, 0): ESRCH means no such process; EPERM means one we may not signal.
        if let asked = pid ?? rootOf, kill(asked, 0) != 0, errno == ESRCH { throw NoSuchProcess(pid: asked) }
        let drumMatch = try match.flatMap { $0.isEmpty ? nil : try DrumMatch.parse($0) }
        let target: TargetSpec = pid.map { .pid($0) } ?? rootOf.map { .rootOf($0) } ?? drumMatch.map { .matching($0) } ?? .discover
        let sampler = try Sampler(configuration: SamplerConfiguration(target: target, cgroupOverride: cgroup))
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
        return Result(snapshot: response.body, targetFound: second.1.target.found)
    }
}
