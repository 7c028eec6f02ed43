/// cgroup v1 memory controller. Only reads: writing memory.max_usage_in_bytes would reset the
/// peak for every reader, DRUM's own /stats/ included.
final class CgroupV1Memory: CgroupMemoryReader {
    let location: CgroupLocation
    private let usage: Reading<HeldFile>
    private let maxUsage: Reading<HeldFile>
    private let stat: Reading<HeldFile>
    private let oomControl: Reading<HeldFile>
    private let failcnt: Reading<HeldFile>
    private let limits: [(path: String, file: Reading<HeldFile>)]
    private var intervalPeak = IntervalPeakFromLifetime()

    init(location: CgroupLocation) {
        self.location = location
        let dir = location.directory
        usage = hold(dir + "/memory.usage_in_bytes")
        maxUsage = hold(dir + "/memory.max_usage_in_bytes")
        stat = hold(dir + "/memory.stat")
        oomControl = hold(dir + "/memory.oom_control")
        failcnt = hold(dir + "/memory.failcnt")
        limits = holdAtEachLevel(location, "memory.limit_in_bytes")
    }

    func read(hostTotalBytes: UInt64?) -> MemoryReading {
        let current = usage.unsigned()
        let peak = maxUsage.unsigned()
        let statValues = stat.keyed(["total_inactive_file", "hierarchical_memory_limit"])
        let oomKill = oomControl.keyed(["oom_kill"])[0]

        // Room for the one from memory.stat too: growing the array would allocate twice a tick.
        var candidates: [LimitCandidate] = []
        candidates.reserveCapacity(limits.count + 1)
        for level in limits { candidates.append(LimitCandidate(path: level.path, bytes: level.file.unsigned())) }
        // A limit above the visible mount root (in a container) shows only here; without it the
        // smallest visible limit may not be the real one.
        switch statValues[1] {
        case .value(let hierarchical):
            if hierarchical < unlimitedThreshold, !candidates.contains(where: { $0.bytes.value.map { $0 <= hierarchical } ?? false }) {
                candidates.append(LimitCandidate(path: "", bytes: .value(hierarchical)))
            }
        case .unavailable(let why):
            candidates.append(LimitCandidate(path: "", bytes: .unavailable(why)))
        }
        var limit = effectiveLimit(candidates, hostTotal: hostTotalBytes)
        if case .value(var l) = limit, case .cgroup("") = l.source {
            l.source = .aboveMount(location.mountPoint)
            limit = .value(l)
        }

        return MemoryReading(
            current: current,
            peak: peak,
            intervalPeak: intervalPeak.next(current: current.value, lifetimePeak: peak.value),
            limit: limit,
            workingSet: workingSet(current, inactiveFile: statValues[0]),
            oomKills: oomKill,
            limitHits: failcnt.unsigned(),
            oomEvents: .unavailable("cgroup v1 counts no OOM events (memory.oom_control has only oom_kill)"),
            pressureSomeAvg10: .unavailable("memory pressure is not reported by cgroup v1"),
            pressureFullAvg10: .unavailable("memory pressure is not reported by cgroup v1"))
    }
}

/// usage − inactive_file, clamped at 0 (what the kubelet evicts on).
func workingSet(_ usage: Reading<UInt64>, inactiveFile: Reading<UInt64>) -> Reading<UInt64> {
    switch (usage, inactiveFile) {
    case (.value(let u), .value(let i)): return .value(u > i ? u - i : 0)
    case (.unavailable(let r), _), (_, .unavailable(let r)): return .unavailable(r)
    }
}
