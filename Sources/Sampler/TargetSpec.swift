import KernelReaders
#if canImport(Glibc)
import Glibc
#endif

/// What to watch.
public enum TargetSpec: Sendable, Equatable, CustomStringConvertible {
    /// Find DRUM on the host (and re-find it after it restarts).
    case discover
    /// Find, as `discover` does, only a DRUM whose root matches (several DRUM servers on a host).
    case matching(DrumMatch)
    /// The process that has this pid when sampling starts (DRUM or not). Once it exits the
    /// target is gone: a later process given the same pid is not it (start times tell them apart).
    case pid(Int32)
    /// The pid in this file, checked every tick (one lstat) so a restart is followed.
    case pidfile(String)
    /// The DRUM root above this pid (e.g. a gunicorn or uvicorn worker's master).
    case rootOf(Int32)

    /// Found by discovery (`discover`, `matching`): followed across restarts.
    public var discovers: Bool {
        switch self {
        case .discover, .matching: true
        case .pid, .pidfile, .rootOf: false
        }
    }

    /// What discovery looks for besides being DRUM.
    public var match: DrumMatch? {
        if case .matching(let m) = self { return m }
        return nil
    }

    public var description: String {
        switch self {
        case .discover: "discover"
        case .matching(let m): "discover the DRUM \(m)"
        case .pid(let p): "pid \(p)"
        case .pidfile(let f): "pidfile \(f)"
        case .rootOf(let p): "DRUM root of pid \(p)"
        }
    }
}

public struct SamplerConfiguration: Sendable {
    public var paths: KernelPaths
    public var target: TargetSpec
    /// Watch this cgroup (path as in /proc/PID/cgroup) instead of the target's. Without a target,
    /// the cgroup figures come from it if it is set, and are otherwise absent with the reason.
    public var cgroupOverride: String?
    /// Read /proc/PID/environ to recognise DRUM's gunicorn or uvicorn master (needs the same uid
    /// or root).
    public var readEnvironment: Bool
    public var constants: SystemConstants
    /// The daemon's effective uid: a pidfile it owns is trusted like one owned by root.
    public var daemonUID: UInt32

    public init(paths: KernelPaths = .host, target: TargetSpec = .discover, cgroupOverride: String? = nil,
                readEnvironment: Bool = true, constants: SystemConstants = .fromSysconf(), daemonUID: UInt32 = geteuid()) {
        self.paths = paths
        self.target = target
        self.cgroupOverride = cgroupOverride
        self.readEnvironment = readEnvironment
        self.constants = constants
        self.daemonUID = daemonUID
    }
}
