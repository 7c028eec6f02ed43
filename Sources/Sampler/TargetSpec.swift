import KernelReaders

/// What to watch.
public enum TargetSpec: Sendable, Equatable, CustomStringConvertible {
    /// Find DRUM on the host (and re-find it after it restarts).
    case discover
    /// This pid (DRUM or not).
    case pid(Int32)
    /// The pid in this file, re-read every tick so a restart is followed.
    case pidfile(String)
    /// The DRUM root above this pid (e.g. a gunicorn or uvicorn worker's master).
    case rootOf(Int32)

    public var description: String {
        switch self {
        case .discover: "discover"
        case .pid(let p): "pid \(p)"
        case .pidfile(let f): "pidfile \(f)"
        case .rootOf(let p): "DRUM root of pid \(p)"
        }
    }
}

public struct SamplerConfiguration: Sendable {
    public var paths: KernelPaths
    public var target: TargetSpec
    /// Watch this cgroup (path as in /proc/PID/cgroup) instead of the target's.
    public var cgroupOverride: String?
    /// Read /proc/PID/environ to recognise DRUM's gunicorn master (needs the same uid or root).
    public var readEnvironment: Bool
    public var constants: SystemConstants
    /// Whose cgroup to watch while there is no target (the daemon's own, by default).
    public var fallbackPid: Int32

    public init(paths: KernelPaths = .host, target: TargetSpec = .discover, cgroupOverride: String? = nil,
                readEnvironment: Bool = true, constants: SystemConstants = .fromSysconf(), fallbackPid: Int32) {
        self.paths = paths
        self.target = target
        self.cgroupOverride = cgroupOverride
        self.readEnvironment = readEnvironment
        self.constants = constants
        self.fallbackPid = fallbackPid
    }
}
