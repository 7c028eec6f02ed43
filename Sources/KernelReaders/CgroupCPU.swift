/// A cgroup's CPU counters at one instant. Rates come from differences of two readings.
public struct CPUReading: Sendable, Equatable {
    /// Total CPU time used by the cgroup and its descendants, including exited processes.
    public var usageNanos: Reading<UInt64>
    public var periods: Reading<UInt64>
    public var throttledPeriods: Reading<UInt64>
    public var throttledNanos: Reading<UInt64>
    /// The smallest quota on the way to the root, in cores; `nil` when there is none.
    public var limitCores: Reading<Double?>

    public static func unavailable(_ reason: String) -> CPUReading {
        CPUReading(usageNanos: .unavailable(reason), periods: .unavailable(reason), throttledPeriods: .unavailable(reason),
                   throttledNanos: .unavailable(reason), limitCores: .unavailable(reason))
    }
}

/// Reads one cgroup's CPU accounting and quota. v1 and v2 differ only in their implementations
/// of this (CgroupV1CPU, CgroupV2CPU), as for memory.
public protocol CgroupCPUReader: AnyObject {
    func read() -> CPUReading
}

public enum CgroupCPU {
    /// A reader for the CPU cgroups in `cgroups`, with its files held open; the `cpu` controller's
    /// version decides which (v1 takes usage from `cpuacct`, which may be another hierarchy).
    public static func reader(for cgroups: CgroupSet) -> Reading<any CgroupCPUReader> {
        switch cgroups.cpu {
        case .value(let cpu) where cpu.version == .v2: return .value(CgroupV2CPU(location: cpu))
        case .value(let cpu): return .value(CgroupV1CPU(cpu: cpu, cpuacct: cgroups.cpuacct))
        case .unavailable(let why): return .unavailable(why)
        }
    }
}

/// The smallest of the per-level quotas (in cores; nil: none). A level whose files cannot be read
/// makes the limit unknown: the smallest of the others might not be the real one.
func smallestQuota<Level>(_ levels: [Level], _ cores: (Level) throws -> Double?) -> Reading<Double?> {
    var smallest: Double?
    for level in levels {
        do {
            if let c = try cores(level), c < (smallest ?? .infinity) { smallest = c }
        } catch {
            return .unavailable("\(error)")
        }
    }
    return .value(smallest)
}
