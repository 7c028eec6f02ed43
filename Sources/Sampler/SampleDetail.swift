import KernelReaders

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
    }

    public struct Cgroup: Sendable, Equatable {
        public var path: String
        public var version: Int
    }

    public struct Process: Sendable, Equatable {
        public var pid: Int32
        public var ppid: Int32
        public var role: String
        public var cmdline: [String]
        public var rssBytes: UInt64
        /// nil until two readings of the same process exist.
        public var cpuCores: Double?
    }

    public var target: Target
    public var cgroup: Cgroup?
    public var limitSource: String?
    public var intervalPeakExact: Bool?
    public var hostTotalBytes: UInt64?
    public var hostFreeBytes: UInt64?
    public var intervalSeconds: Double?
    public var processes: [Process]
    /// Why a metric is not available, for every metric that is not.
    public var unavailable = MetricReasons()

    public init(target: Target) {
        self.target = target
        processes = []
    }
}

/// A reason per metric (nil: the metric is available). A fixed array rather than a dictionary:
/// it is filled on every tick.
public struct MetricReasons: Sendable, Equatable {
    private var storage = [String?](repeating: nil, count: Metric.count)

    public init() {}

    public subscript(_ m: Metric) -> String? {
        get { storage[m.rawValue] }
        set { storage[m.rawValue] = newValue }
    }
}
