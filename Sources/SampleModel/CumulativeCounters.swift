/// The latest sample's cumulative counters: totals since a fixed start, never per-interval rates,
/// so that a reader sampling them at any period (a Prometheus scrape, a textfile write) gets an
/// exact rate from any two of its own readings. nil: not measured (with the metric's reason in
/// `SampleDetail.unavailable` where there is one).
public struct CumulativeCounters: Sendable, Equatable {
    /// CPU time of the DRUM tree in clock ticks (utime + stime of its processes, plus cutime +
    /// cstime: what they reaped from children that exited), for as long as the daemon watches.
    /// Never goes back: a process that leaves takes nothing with it (see the sampler's
    /// `TreeCPUAccount`). With `ticksPerSecond`, seconds.
    public var treeCPUTicks: UInt64?
    public var ticksPerSecond: UInt64 = 100
    /// The watched cgroup's own counters, as the kernel keeps them (they restart with a new cgroup).
    public var cgroupCPUNanos: UInt64?
    public var cgroupThrottledNanos: UInt64?
    public var cgroupPeriods: UInt64?
    public var cgroupThrottledPeriods: UInt64?
    /// PSI memory `total=` (µs) of the watched cgroup: some / full (cgroup v2 only).
    public var memoryPressureSomeMicros: UInt64?
    public var memoryPressureFullMicros: UInt64?

    public init() {}

    public var treeCPUSeconds: Double? { treeCPUTicks.map { Double($0) / Double(Swift.max(ticksPerSecond, 1)) } }
    public var cgroupCPUSeconds: Double? { cgroupCPUNanos.map { Double($0) / 1e9 } }
    public var cgroupThrottledSeconds: Double? { cgroupThrottledNanos.map { Double($0) / 1e9 } }
    public var memoryPressureSomeSeconds: Double? { memoryPressureSomeMicros.map { Double($0) / 1e6 } }
    public var memoryPressureFullSeconds: Double? { memoryPressureFullMicros.map { Double($0) / 1e6 } }
}

/// Where the effective memory limit comes from, as a word (the API's `limit_source` carries the
/// cgroup path itself).
public enum LimitOrigin: String, Sendable, Equatable {
    /// A cgroup on the way to the root (the smallest limit).
    case cgroup
    /// A limit above the visible part of the hierarchy (v1 hierarchical_memory_limit).
    case aboveMount = "above_mount"
    /// No cgroup limit: the host's RAM.
    case host
}
