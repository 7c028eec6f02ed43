/// What only the latest sample carries: the target, its cgroup, the per-process breakdown and
/// the reasons behind every missing value.
public struct SampleDetail: Sendable, Equatable {
    public struct Target: Sendable, Equatable {
        public var found: Bool
        public var rootPid: Int32?
        public var mode: DrumMode?
        public var generation: UInt32
        public var processCount: Int
        /// Plain words when there is no target, e.g. "no DRUM process found".
        public var message: String?
        /// DataRobot's MLOPS_DEPLOYMENT_ID and MLOPS_MODEL_ID in DRUM's environment, when it can
        /// be read (read_environment): what identifies the model across a fleet.
        public var mlopsDeploymentID: String?
        public var mlopsModelID: String?

        public init(found: Bool, rootPid: Int32? = nil, mode: DrumMode? = nil, generation: UInt32, processCount: Int, message: String? = nil) {
            self.found = found
            self.rootPid = rootPid
            self.mode = mode
            self.generation = generation
            self.processCount = processCount
            self.message = message
        }
    }

    public struct Cgroup: Sendable, Equatable {
        public var path: String
        public var version: Int

        public init(path: String, version: Int) {
            self.path = path
            self.version = version
        }
    }

    public struct Process: Sendable, Equatable {
        public var pid: Int32
        public var ppid: Int32
        public var role: ProcessRole
        public var cmdline: [String]
        public var rssBytes: UInt64
        /// nil until two readings of the same process exist.
        public var cpuCores: Double?
        /// When the process started, in nanoseconds since boot (its stat start time): with the
        /// pid, what tells this process from a later one that reuses the pid; with
        /// `SampleDetail.bootNanos`, its age.
        public var startNanos: UInt64?
        /// Exited but not yet reaped by its parent (a zombie: no memory left, only its pid).
        public var exited: Bool

        public init(pid: Int32, ppid: Int32, role: ProcessRole, cmdline: [String], rssBytes: UInt64, cpuCores: Double? = nil,
                    startNanos: UInt64? = nil, exited: Bool = false) {
            self.pid = pid
            self.ppid = ppid
            self.role = role
            self.cmdline = cmdline
            self.rssBytes = rssBytes
            self.cpuCores = cpuCores
            self.startNanos = startNanos
            self.exited = exited
        }
    }

    public var target: Target
    public var cgroup: Cgroup?
    public var limitSource: String?
    public var limitOrigin: LimitOrigin?
    public var intervalPeakExact: Bool?
    public var hostTotalBytes: UInt64?
    public var hostFreeBytes: UInt64?
    public var intervalSeconds: Double?
    /// CLOCK_BOOTTIME when the sample was taken: the clock of `Process.startNanos`.
    public var bootNanos: UInt64?
    public var processes: [Process]
    /// Why a metric is not available, for every metric that is not.
    public var unavailable = MetricReasons()
    /// Seconds until the working set reaches the limit at its current rate; nil unless memory
    /// is growing. Set after the sample is taken, by the event detector, which fits the trend.
    public var timeToLimitSeconds: Double?
    public var counters = CumulativeCounters()

    public init(target: Target) {
        self.target = target
        processes = []
    }
}

/// A reason per metric (nil: the metric is available). A fixed array rather than a dictionary:
/// it is filled on every tick.
public struct MetricReasons: Sendable, Equatable {
    private var storage = MetricReasons.none

    /// Copied, not made anew: `Array(repeating:count:)` of an Optional looks the array's type up
    /// in the runtime's metadata cache on every call; copying this is a retain (the first change
    /// then copies its storage, with the type known).
    private static let none = [String?](repeating: nil, count: Metric.count)

    public init() {}

    public subscript(_ m: Metric) -> String? {
        get { storage[m.rawValue] }
        set { storage[m.rawValue] = newValue }
    }
}
