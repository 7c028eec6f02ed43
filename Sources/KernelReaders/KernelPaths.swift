/// Where the kernel's files are. Injectable so that every reader runs on fixture trees too.
public struct KernelPaths: Sendable, Equatable {
    /// The proc file system (default /proc).
    public var procRoot: String
    /// Where cgroup mount points that mountinfo reports under `hostCgroupPrefix` are found.
    public var cgroupRoot: String
    /// The prefix of cgroup mount points in mountinfo (always /sys/fs/cgroup on real hosts).
    public var hostCgroupPrefix: String

    public init(procRoot: String = "/proc", cgroupRoot: String = "/sys/fs/cgroup",
                hostCgroupPrefix: String = "/sys/fs/cgroup") {
        self.procRoot = procRoot
        self.cgroupRoot = cgroupRoot
        self.hostCgroupPrefix = hostCgroupPrefix
    }

    public static let host = KernelPaths()

    public func proc(_ pid: Int32, _ file: String) -> String { "\(procRoot)/\(pid)/\(file)" }
    public var meminfo: String { "\(procRoot)/meminfo" }
    public var selfMountinfo: String { "\(procRoot)/self/mountinfo" }
}
