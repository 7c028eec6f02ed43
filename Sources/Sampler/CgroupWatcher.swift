import KernelReaders
import SampleModel

/// The cgroup whose memory and CPU the samples report: the target's (located from its
/// /proc/PID/cgroup), or the configured one. Holds the readers' files open between ticks and keeps
/// the previous CPU reading for rates.
///
/// The sampler calls `follow` once per tick with the target it is watching, then `read`.
final class CgroupWatcher {
    private let locator: CgroupLocator
    private let override: String?

    /// The target the current readers were located for; a different one re-locates.
    private var followed: (pid: Int32?, generation: UInt32)?
    private var watched: CgroupSet?
    private var memoryReader: (any CgroupMemoryReader)?
    private var cpuReader: CgroupCPUReader?
    private var previousCPU: (reading: CPUReading, mono: UInt64)?

    init(locator: CgroupLocator, override: String?) {
        self.locator = locator
        self.override = override
    }

    /// The target for this tick: its pid (nil: no target) and generation. A new pid or generation
    /// (attach, detach, restart, exec) makes the watcher locate the cgroup again.
    func follow(targetPid: Int32?, generation: UInt32, now: UInt64) {
        if let followed, followed.pid == targetPid, followed.generation == generation { return }
        followed = (targetPid, generation)
        locate(pid: targetPid)
    }

    private func locate(pid: Int32?) {
        let set: CgroupSet
        if let override {
            var entries = locator.mounts.compactMap { mount -> ProcCgroupEntry? in
                if case .v1(let c) = mount.kind { return ProcCgroupEntry(hierarchyID: 1, controllers: c, path: override) }
                return nil
            }
            entries.append(ProcCgroupEntry(hierarchyID: 0, controllers: [], path: override))
            set = locator.locate(entries: entries, source: "the configured cgroup \(override)")
        } else if let pid {
            do { set = try locator.locate(pid: pid) } catch {
                let why = Reading<CgroupLocation>.unavailable("\(error)")
                set = CgroupSet(memory: why, cpu: why, cpuacct: why)
            }
        } else {
            let why = Reading<CgroupLocation>.unavailable("no target to locate a cgroup for")
            set = CgroupSet(memory: why, cpu: why, cpuacct: why)
        }
        watched = set
        memoryReader = set.memory.value.map { CgroupMemory.reader(for: $0) }
        cpuReader = CgroupCPUReader(cgroups: set)
        previousCPU = nil
    }

    /// Memory and CPU of the watched cgroup into this tick's values; `detail.hostTotalBytes` must
    /// already be set (an unlimited cgroup's limit is the host's RAM).
    func read(_ values: inout MetricValues, _ detail: inout SampleDetail, now: UInt64) {
        readMemory(&values, &detail)
        readCPU(&values, &detail, now: now)
    }

    private func readMemory(_ values: inout MetricValues, _ detail: inout SampleDetail) {
        if let location = watched?.memory.value { detail.cgroup = SampleDetail.Cgroup(path: location.path, version: location.version.rawValue) }
        let reading: MemoryReading
        if let memoryReader {
            reading = memoryReader.read(hostTotalBytes: detail.hostTotalBytes)
        } else {
            reading = .unavailable(watched?.memory.reason ?? "no memory cgroup")
        }
        func put(_ metric: Metric, _ r: Reading<UInt64>) {
            switch r {
            case .value(let v): values[metric] = Double(v)
            case .unavailable(let why): detail.unavailable[metric] = why
            }
        }
        put(.memoryCurrent, reading.current)
        put(.memoryPeak, reading.peak)
        put(.memoryIntervalPeak, reading.intervalPeak.map(\.bytes))
        detail.intervalPeakExact = reading.intervalPeak.value?.exact
        put(.memoryLimit, reading.limit.map(\.bytes))
        detail.limitSource = reading.limit.value?.source.description
        put(.memoryWorkingSet, reading.workingSet)
        put(.memoryOOMKills, reading.oomKills)
        put(.memoryLimitHits, reading.limitHits)
        put(.memoryOOMEvents, reading.oomEvents)
        for (metric, r) in [(Metric.memoryPressureSome, reading.pressureSomeAvg10), (.memoryPressureFull, reading.pressureFullAvg10)] {
            switch r {
            case .value(let v): values[metric] = v
            case .unavailable(let why): detail.unavailable[metric] = why
            }
        }
    }

    private func readCPU(_ values: inout MetricValues, _ detail: inout SampleDetail, now: UInt64) {
        guard let cpuReader else {
            for m in [Metric.cgroupCPU, .cpuLimit, .cpuThrottled] { detail.unavailable[m] = "no cpu cgroup" }
            return
        }
        let reading = cpuReader.read()
        switch reading.limitCores {
        case .value(let cores):
            if let cores { values[.cpuLimit] = cores } else { detail.unavailable[.cpuLimit] = "no CPU quota (unlimited)" }
        case .unavailable(let why): detail.unavailable[.cpuLimit] = why
        }
        defer { previousCPU = (reading, now) }
        guard let previous = previousCPU, now > previous.mono else {
            let why = "needs two readings; the first was just taken"
            detail.unavailable[.cgroupCPU] = reading.usageNanos.reason ?? why
            detail.unavailable[.cpuThrottled] = reading.periods.reason ?? why
            return
        }
        let elapsed = Double(now - previous.mono)
        switch (reading.usageNanos, previous.reading.usageNanos) {
        case (.value(let u), .value(let p)) where u >= p: values[.cgroupCPU] = Double(u - p) / elapsed
        case (.unavailable(let why), _), (_, .unavailable(let why)): detail.unavailable[.cgroupCPU] = why
        default: detail.unavailable[.cgroupCPU] = "CPU usage counter went backwards (cgroup recreated?)"
        }
        switch (reading.periods, reading.throttledPeriods, previous.reading.periods, previous.reading.throttledPeriods) {
        case (.value(let p), .value(let t), .value(let pp), .value(let pt)) where p >= pp && t >= pt:
            values[.cpuThrottled] = p > pp ? Double(t - pt) / Double(p - pp) : 0
        default:
            detail.unavailable[.cpuThrottled] = reading.periods.reason ?? reading.throttledPeriods.reason ?? "throttling counters went backwards"
        }
    }
}
