/// Every numeric field of a sample: the columns the history keeps and windows are taken over.
public enum Metric: Int, CaseIterable, Sendable, Hashable {
    case memoryCurrent
    case memoryPeak
    case memoryIntervalPeak
    case memoryLimit
    case memoryWorkingSet
    case memoryOOMKills
    /// v1 memory.failcnt, v2 memory.events `max`: how often usage reached the limit and reclaim ran.
    case memoryLimitHits
    /// v2 memory.events `oom`: how often reclaim at the limit failed and the OOM killer was
    /// invoked (v1 has no such count).
    case memoryOOMEvents
    case memoryPressureSome
    case memoryPressureFull
    case hostAvailable
    case treeRSS
    case treeCPU
    case cgroupCPU
    case cpuLimit
    case cpuThrottled
    case processCount
    /// 1 when this sample's interval peak is the exact peak over its interval, 0 when it is a
    /// lower bound (see `IntervalPeak`); absent with the interval peak. Per sample, so that a
    /// window's minimum says whether every interval peak in it was exact. Last, so that the
    /// columns before it keep their places.
    case memoryIntervalPeakExact

    public static let count = allCases.count

    /// The name used in JSON and, with a prefix, in Prometheus (units per Prometheus conventions).
    public var name: String {
        switch self {
        case .memoryCurrent: "memory_current_bytes"
        case .memoryPeak: "memory_peak_bytes"
        case .memoryIntervalPeak: "memory_interval_peak_bytes"
        case .memoryLimit: "memory_limit_bytes"
        case .memoryWorkingSet: "memory_working_set_bytes"
        case .memoryOOMKills: "memory_oom_kills"
        case .memoryLimitHits: "memory_limit_hits"
        case .memoryOOMEvents: "memory_oom_events"
        case .memoryPressureSome: "memory_pressure_some_avg10"
        case .memoryPressureFull: "memory_pressure_full_avg10"
        case .hostAvailable: "host_available_bytes"
        case .treeRSS: "tree_rss_bytes"
        case .treeCPU: "tree_cpu_cores"
        case .cgroupCPU: "cgroup_cpu_cores"
        case .cpuLimit: "cpu_limit_cores"
        case .cpuThrottled: "cpu_throttled_fraction"
        case .processCount: "process_count"
        case .memoryIntervalPeakExact: "memory_interval_peak_exact"
        }
    }

    /// Whether values are whole numbers (bytes, counts) rather than fractions.
    public var isInteger: Bool {
        switch self {
        case .memoryPressureSome, .memoryPressureFull, .treeCPU, .cgroupCPU, .cpuLimit, .cpuThrottled: false
        default: true
        }
    }
}

/// One value per metric; NaN marks "not available" (never 0).
public struct MetricValues: Sendable, Equatable {
    public var storage: [Double]

    public init() { storage = MetricValues.none }

    /// Copied rather than made anew on every tick (see `MetricReasons.none`).
    private static let none = [Double](repeating: .nan, count: Metric.count)

    public subscript(_ m: Metric) -> Double? {
        get { let v = storage[m.rawValue]; return v.isNaN ? nil : v }
        set { storage[m.rawValue] = newValue ?? .nan }
    }

    public static func == (a: MetricValues, b: MetricValues) -> Bool {
        zip(a.storage, b.storage).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }
}

/// The compact sample the history keeps: identity, times and the numeric fields.
public struct Sample: Sendable, Equatable {
    public var sequence: UInt64
    /// Wall-clock time the sample was taken (ns since the Unix epoch).
    public var wallNanos: Int64
    /// Monotonic time the sample was taken (ns, CLOCK_MONOTONIC).
    public var monoNanos: UInt64
    /// Increments each time the DRUM root changes (restart, new pid, exec).
    public var generation: UInt32
    public var values: MetricValues

    public init(sequence: UInt64, wallNanos: Int64, monoNanos: UInt64, generation: UInt32, values: MetricValues = MetricValues()) {
        self.sequence = sequence
        self.wallNanos = wallNanos
        self.monoNanos = monoNanos
        self.generation = generation
        self.values = values
    }
}
