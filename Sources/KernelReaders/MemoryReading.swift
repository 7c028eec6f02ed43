/// Where an effective memory limit comes from.
public enum LimitSource: Sendable, Equatable, CustomStringConvertible {
    /// The cgroup (path as the kernel names it) whose limit is the smallest on the way to the root.
    case cgroup(String)
    /// A limit set above the visible part of the hierarchy, known from v1 hierarchical_memory_limit.
    case aboveMount(String)
    /// No cgroup limit anywhere (or one above the host's RAM): the host's MemTotal.
    case host

    public var description: String {
        switch self {
        case .cgroup(let path): return path
        case .aboveMount(let mount): return "above \(mount) (hierarchical_memory_limit)"
        case .host: return "host"
        }
    }
}

public struct EffectiveLimit: Sendable, Equatable {
    public var bytes: UInt64
    public var source: LimitSource
}

public struct IntervalPeak: Sendable, Equatable {
    public var bytes: UInt64
    /// True when the kernel measured the peak over exactly this interval (v2 per-fd reset, or a
    /// lifetime peak that rose during the interval); false for a lower bound.
    public var exact: Bool
}

/// One reading of a cgroup's memory files.
public struct MemoryReading: Sendable, Equatable {
    public var current: Reading<UInt64>
    public var peak: Reading<UInt64>
    public var intervalPeak: Reading<IntervalPeak>
    public var limit: Reading<EffectiveLimit>
    public var workingSet: Reading<UInt64>
    public var oomKills: Reading<UInt64>
    /// v2 memory.events `max` (usage reached the limit and reclaim ran), v1 `failcnt`
    /// (charges that hit the limit).
    public var limitHits: Reading<UInt64>
    /// v2 memory.events `oom` (reclaim at the limit failed: the OOM killer was invoked); v1 has
    /// no such count.
    public var oomEvents: Reading<UInt64>
    public var pressureSomeAvg10: Reading<Double>
    public var pressureFullAvg10: Reading<Double>
    /// PSI `total=` (µs), v2 only: counters for rates over any period.
    public var pressureSomeTotalMicros: Reading<UInt64> = .unavailable("memory pressure is not reported by cgroup v1")
    public var pressureFullTotalMicros: Reading<UInt64> = .unavailable("memory pressure is not reported by cgroup v1")

    public static func unavailable(_ reason: String) -> MemoryReading {
        var reading = MemoryReading(current: .unavailable(reason), peak: .unavailable(reason), intervalPeak: .unavailable(reason),
                      limit: .unavailable(reason), workingSet: .unavailable(reason), oomKills: .unavailable(reason),
                      limitHits: .unavailable(reason), oomEvents: .unavailable(reason), pressureSomeAvg10: .unavailable(reason),
                      pressureFullAvg10: .unavailable(reason))
        reading.pressureSomeTotalMicros = .unavailable(reason)
        reading.pressureFullTotalMicros = .unavailable(reason)
        return reading
    }
}

/// Reads one cgroup's memory. v1 and v2 differ only in their implementations of this.
public protocol CgroupMemoryReader: AnyObject {
    var location: CgroupLocation { get }
    func read(hostTotalBytes: UInt64?) -> MemoryReading
}

public enum CgroupMemory {
    /// A reader for the memory cgroup at `location`, with its files held open.
    public static func reader(for location: CgroupLocation) -> any CgroupMemoryReader {
        switch location.version {
        case .v1: return CgroupV1Memory(location: location)
        case .v2: return CgroupV2Memory(location: location)
        }
    }
}

/// Interval peak where the kernel has no per-interval reset: if the lifetime peak rose since the
/// last reading, the new lifetime peak was reached inside this interval (exact); otherwise the
/// best known value is the larger of the two current readings (a lower bound).
struct IntervalPeakFromLifetime {
    private var previousPeak: UInt64?
    private var previousCurrent: UInt64?

    mutating func next(current: UInt64?, lifetimePeak: UInt64?) -> Reading<IntervalPeak> {
        defer { previousPeak = lifetimePeak; previousCurrent = current }
        if let lifetimePeak, let previousPeak, lifetimePeak > previousPeak {
            return .value(IntervalPeak(bytes: lifetimePeak, exact: true))
        }
        guard let current else { return .unavailable("no current usage to bound the interval peak") }
        return .value(IntervalPeak(bytes: max(current, previousCurrent ?? current), exact: false))
    }
}

/// One level's limit, with the cgroup path it belongs to ("" for one above the mount). A struct:
/// arrays of tuples are handled through the runtime's generic tuple witnesses.
struct LimitCandidate {
    var path: String
    var bytes: Reading<UInt64>
}

/// Page-rounded LONG_MAX and friends: anything this large means "no limit".
let unlimitedThreshold: UInt64 = 0x7FFF_FFFF_FFFF_0000

/// Picks the smallest limit over a cgroup and its ancestors; none, or one above the host's RAM,
/// means the host's MemTotal. A level whose limit cannot be read makes the limit unknown, with
/// that level's reason: the smallest of the others might not be the real one, and a removed
/// cgroup (every file ENODEV) must not read as "unlimited, so the host's RAM".
func effectiveLimit(_ limits: [LimitCandidate], hostTotal: UInt64?) -> Reading<EffectiveLimit> {
    var best: EffectiveLimit?
    for candidate in limits {
        let path = candidate.path, reading = candidate.bytes
        guard case .value(let bytes) = reading else { return .unavailable(reading.reason ?? "") }
        guard bytes < unlimitedThreshold else { continue }
        if let current = best, current.bytes <= bytes { continue }
        best = EffectiveLimit(bytes: bytes, source: .cgroup(path))
    }
    if let hostTotal, (best?.bytes ?? .max) > hostTotal {
        return .value(EffectiveLimit(bytes: hostTotal, source: .host))
    }
    if let best { return .value(best) }
    return .unavailable("no cgroup limit and the host's MemTotal is unknown")
}
