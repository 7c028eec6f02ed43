import SampleModel

/// `memory_growth` and `time_to_limit_seconds`: the trend of the cgroup's working set, and of
/// each live root or worker's RSS to name the fastest-growing ones. Per sample: one trend update
/// for the cgroup and one per process (the process list is walked in the sample's order, so the
/// usual tick finds each process's trend at the same index, without hashing).
struct GrowthWatch {
    private let windowNanos: UInt64
    private var cgroup: MemoryTrend
    private var cgroupPath: String?
    private var processes: [(key: ProcessChanges.Key, trend: MemoryTrend)] = []
    private var raised = false
    private(set) var timeToLimitSeconds: Double?

    init(windowNanos: UInt64) {
        self.windowNanos = windowNanos
        cgroup = MemoryTrend(windowNanos: windowNanos)
    }

    /// Takes this sample; true when `memory_growth` is to be raised now (once per episode: again
    /// only after memory stopped growing).
    mutating func observe(_ sample: Sample, _ detail: SampleDetail, settings: EventSettings) -> Bool {
        if detail.cgroup?.path != cgroupPath {
            cgroupPath = detail.cgroup?.path
            cgroup = MemoryTrend(windowNanos: windowNanos)
            raised = false
        }
        if let ws = sample.values[.memoryWorkingSet] { cgroup.add(t: sample.monoNanos, value: ws) }
        followProcesses(sample, detail)

        guard let estimate = cgroup.estimate, estimate.growing, estimate.slope > 0,
              let ws = sample.values[.memoryWorkingSet], let limit = sample.values[.memoryLimit] else {
            timeToLimitSeconds = nil
            raised = false
            return false
        }
        let ttl = max(0, (limit - ws) / estimate.slope)
        timeToLimitSeconds = ttl
        guard !raised, ttl <= Double(settings.growthHorizonNanos) / 1e9 else { return false }
        raised = true
        return true
    }

    private mutating func followProcesses(_ sample: Sample, _ detail: SampleDetail) {
        var index = 0
        var rebuilt: [(key: ProcessChanges.Key, trend: MemoryTrend)]?
        for p in detail.processes where !p.exited && (p.role == .master || p.role == .worker) {
            let key = ProcessChanges.Key(p)
            if rebuilt == nil, index < processes.count, processes[index].key == key {
                processes[index].trend.add(t: sample.monoNanos, value: Double(p.rssBytes))
            } else {
                // The list changed: carry each trend over by identity (rare: a start or an exit).
                if rebuilt == nil { rebuilt = Array(processes[..<min(index, processes.count)]) }
                var trend = processes.first { $0.key == key }?.trend ?? MemoryTrend(windowNanos: windowNanos)
                trend.add(t: sample.monoNanos, value: Double(p.rssBytes))
                rebuilt?.append((key, trend))
            }
            index += 1
        }
        if let rebuilt { processes = rebuilt } else if index < processes.count { processes.removeLast(processes.count - index) }
    }

    /// The event's fields: slope, time to the limit, window, and the processes whose RSS grows
    /// fastest (growing ones only, fastest first).
    func event(_ base: EventRecord, _ detail: SampleDetail) -> EventRecord {
        var e = base
        e.slopeBytesPerHour = cgroup.estimate.map { $0.slope * 3600 }
        e.timeToLimitSeconds = timeToLimitSeconds
        e.windowNanos = windowNanos
        let growing = processes.compactMap { entry -> (ProcessChanges.Key, Double)? in
            guard let slope = entry.trend.recentSlope, slope > 0 else { return nil }
            return (entry.key, slope)
        }.sorted { $0.1 > $1.1 }
        e.setProcesses(growing.compactMap { key, slope in
            detail.processes.first { ProcessChanges.Key($0) == key }.map { p in
                var ep = EventProcess(p)
                ep.growthBytesPerHour = slope * 3600
                return ep
            }
        })
        return e
    }
}
