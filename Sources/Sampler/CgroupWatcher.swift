import KernelReaders
import Logging
import SampleModel

/// The cgroup whose memory and CPU the samples report: the target's (located from its
/// /proc/PID/cgroup), or the configured one; with neither, none. Holds the readers' files open
/// between ticks and keeps the previous CPU reading for rates.
///
/// The sampler calls `follow` once per tick with the target it is watching (nil: none), then
/// `read`. A target can be moved to another cgroup at any time (`echo PID > B/cgroup.procs`) and
/// a cgroup can be removed and made again: the target's /proc/PID/cgroup is held open and
/// compared once a second (one pread and a compare: ~5 µs on a hybrid host, nothing on the other
/// ticks), and files that fail are re-opened, at most once a second while they keep failing.
final class CgroupWatcher {
    private let locator: CgroupLocator
    private let override: String?
    private let logger: Logger

    /// The target the watched cgroup was found for (pid nil: none). A struct, not an optional
    /// tuple: those are compared and copied through the runtime's generic witnesses, every tick.
    private struct Followed {
        var pid: Int32?
        var generation: UInt32
    }
    private var followed: Followed?
    /// The target's /proc/PID/cgroup, held, and what it said when last compared.
    private var targetCgroupFile: Reading<HeldFile>?
    private var targetCgroupBytes: [UInt8] = []
    private var lastCheckMono: UInt64 = 0
    private var lastOpenMono: UInt64 = 0
    /// The held cgroup files failed at the last read (a removed cgroup answers ENODEV).
    private var filesFailing = false
    /// What was logged about the failure, so that it is logged once, not every tick.
    private var loggedFailure: String?

    private var watched = CgroupSet(memory: .unavailable(""), cpu: .unavailable(""), cpuacct: .unavailable(""))
    private var memoryReader: Reading<any CgroupMemoryReader> = .unavailable("")
    private var cpuReader: Reading<any CgroupCPUReader> = .unavailable("")
    /// The previous CPU reading and when it was taken (a struct, as `Followed`).
    private struct TimedCPUReading {
        var reading: CPUReading
        var mono: UInt64
    }
    private var previousCPU: TimedCPUReading?

    /// How often the target's cgroup is compared, and failing files re-opened.
    static let checkEveryNanos: UInt64 = 1_000_000_000

    init(locator: CgroupLocator, override: String?, logger: Logger = Logger(label: "drum-monitor.cgroup")) {
        self.locator = locator
        self.override = override
        self.logger = logger
    }

    /// The target for this tick: its pid (nil: no target) and generation. A new pid or generation
    /// (attach, detach, restart, exec) checks the cgroup at once; otherwise it is checked once a
    /// second, and at the next tick after its files failed.
    func follow(targetPid: Int32?, generation: UInt32, now: UInt64) {
        if let followed, followed.pid == targetPid, followed.generation == generation {
            let due = now &- lastCheckMono >= Self.checkEveryNanos
            let reopen = filesFailing && now &- lastOpenMono >= Self.checkEveryNanos
            if due || reopen { check(now: now, reopen: reopen, newTarget: false) }
            return
        }
        if followed?.pid != targetPid || followed == nil {
            targetCgroupFile = targetPid.map { pid in
                do { return .value(try HeldFile(path: locator.paths.proc(pid, "cgroup"))) } catch { return .unavailable("\(error)") }
            }
            targetCgroupBytes = []
        }
        followed = Followed(pid: targetPid, generation: generation)
        check(now: now, reopen: false, newTarget: true)
    }

    /// Finds where the watched cgroup is now and replaces the readers of each controller that
    /// moved (all of them when `reopen`).
    private func check(now: UInt64, reopen: Bool, newTarget: Bool) {
        lastCheckMono = now
        let set: CgroupSet
        if let override {
            // A fixed path: it moves nowhere, but a removed and re-made cgroup needs new files.
            guard newTarget || reopen else { return }
            set = locator.locate(configuredPath: override)
        } else if let file = targetCgroupFile {
            switch file {
            case .unavailable(let why):
                set = .all(.unavailable(why))
            case .value(let file):
                do {
                    let known = targetCgroupBytes
                    let bytes = try file.withContents { bytes throws(KernelFileError) -> [UInt8]? in
                        bytes.elementsEqual(known) ? nil : Array(bytes)
                    }
                    guard let bytes else {
                        if !(newTarget || reopen) { return }
                        apply(located(known, file.path), now: now, reopen: reopen, moved: false)
                        return
                    }
                    targetCgroupBytes = bytes
                    set = located(bytes, file.path)
                } catch {
                    // The target is gone (the tracker notices on its own): keep what is held
                    // unless there is nothing yet.
                    guard newTarget else { return }
                    set = .all(.unavailable("\(error)"))
                }
            }
        } else {
            set = .all(.unavailable("no target"))
        }
        apply(set, now: now, reopen: reopen, moved: !newTarget)
    }

    private func located(_ procCgroup: [UInt8], _ path: String) -> CgroupSet {
        do { return locator.locate(entries: try ProcCgroupEntry.parse(procCgroup, path: path), source: path) } catch {
            return .all(.unavailable("\(error)"))
        }
    }

    private func apply(_ set: CgroupSet, now: UInt64, reopen: Bool, moved: Bool) {
        let old = watched
        watched = set
        if reopen || set.memory != old.memory {
            memoryReader = set.memory.map { CgroupMemory.reader(for: $0) }
        }
        if reopen || set.cpu != old.cpu || set.cpuacct != old.cpuacct {
            cpuReader = CgroupCPU.reader(for: set)
            previousCPU = nil
        }
        if reopen || set != old { lastOpenMono = now }
        filesFailing = false
        if moved, set != old, let pid = followed?.pid {
            let changes = [("memory", old.memory, set.memory), ("cpu", old.cpu, set.cpu), ("cpuacct", old.cpuacct, set.cpuacct)]
                .filter { $0.1 != $0.2 }
                .map { "\($0.0) \(Self.name($0.1)) → \(Self.name($0.2))" }
            logger.info("pid \(pid) moved to another cgroup: \(changes.joined(separator: ", "))")
        }
    }

    private static func name(_ location: Reading<CgroupLocation>) -> String {
        switch location {
        case .value(let l): l.path
        case .unavailable: "(none)"
        }
    }

    /// Memory and CPU of the watched cgroup into this tick's values; `detail.hostTotalBytes` must
    /// already be set (an unlimited cgroup's limit is the host's RAM), and `detail.target` too (its
    /// message is why there is no cgroup when there is no target).
    func read(_ values: inout MetricValues, _ detail: inout SampleDetail, now: UInt64) {
        if override == nil, followed?.pid == nil {
            let why = detail.target.message ?? "no DRUM process found"
            for metric in Self.metrics { detail.unavailable[metric] = why }
            previousCPU = nil
            return
        }
        let memoryFailed = readMemory(&values, &detail)
        let cpuFailed = readCPU(&values, &detail, now: now)
        noteFailure(memoryFailed ?? cpuFailed)
    }

    /// Every figure the watcher reports.
    static let metrics: [Metric] = [.memoryCurrent, .memoryPeak, .memoryIntervalPeak, .memoryIntervalPeakExact, .memoryLimit,
                                    .memoryWorkingSet, .memoryOOMKills, .memoryLimitHits, .memoryOOMEvents, .memoryPressureSome,
                                    .memoryPressureFull, .cgroupCPU, .cpuLimit, .cpuThrottled]

    private func noteFailure(_ failure: String?) {
        filesFailing = failure != nil
        if let failure, loggedFailure == nil {
            logger.warning("the watched cgroup's files cannot be read (\(failure)); re-opening them every second")
        } else if failure == nil, loggedFailure != nil {
            logger.info("the watched cgroup's files can be read again: \(Self.name(watched.memory))")
        }
        loggedFailure = failure
    }

    /// Returns why the held memory files failed, if they did.
    private func readMemory(_ values: inout MetricValues, _ detail: inout SampleDetail) -> String? {
        if let location = watched.memory.value { detail.cgroup = SampleDetail.Cgroup(path: location.path, version: location.version.rawValue) }
        let reading: MemoryReading
        switch memoryReader {
        case .value(let reader): reading = reader.read(hostTotalBytes: detail.hostTotalBytes)
        case .unavailable(let why): reading = .unavailable(why)
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
        put(.memoryIntervalPeakExact, reading.intervalPeak.map { $0.exact ? 1 : 0 })
        detail.intervalPeakExact = reading.intervalPeak.value?.exact
        put(.memoryLimit, reading.limit.map(\.bytes))
        detail.limitSource = reading.limit.value?.source.description
        detail.limitOrigin = reading.limit.value.map { Self.origin($0.source) }
        put(.memoryWorkingSet, reading.workingSet)
        put(.memoryOOMKills, reading.oomKills)
        put(.memoryLimitHits, reading.limitHits)
        put(.memoryOOMEvents, reading.oomEvents)
        // Two calls, not a loop over an array literal of (metric, reading) pairs: that array was
        // allocated, and its tuples handled through the runtime's generic witnesses, every tick.
        func putFraction(_ metric: Metric, _ r: Reading<Double>) {
            switch r {
            case .value(let v): values[metric] = v
            case .unavailable(let why): detail.unavailable[metric] = why
            }
        }
        putFraction(.memoryPressureSome, reading.pressureSomeAvg10)
        putFraction(.memoryPressureFull, reading.pressureFullAvg10)
        detail.counters.memoryPressureSomeMicros = reading.pressureSomeTotalMicros.value
        detail.counters.memoryPressureFullMicros = reading.pressureFullTotalMicros.value
        guard case .value = memoryReader else { return nil }
        return reading.current.reason
    }

    private static func origin(_ source: LimitSource) -> LimitOrigin {
        switch source {
        case .cgroup: .cgroup
        case .aboveMount: .aboveMount
        case .host: .host
        }
    }

    /// Returns why the held CPU files failed, if they did.
    private func readCPU(_ values: inout MetricValues, _ detail: inout SampleDetail, now: UInt64) -> String? {
        guard case .value(let cpuReader) = cpuReader else {
            for m in [Metric.cgroupCPU, .cpuLimit, .cpuThrottled] { detail.unavailable[m] = cpuReader.reason }
            return nil
        }
        let reading = cpuReader.read()
        detail.counters.cgroupCPUNanos = reading.usageNanos.value
        detail.counters.cgroupThrottledNanos = reading.throttledNanos.value
        detail.counters.cgroupPeriods = reading.periods.value
        detail.counters.cgroupThrottledPeriods = reading.throttledPeriods.value
        switch reading.limitCores {
        case .value(let cores):
            if let cores { values[.cpuLimit] = cores } else { detail.unavailable[.cpuLimit] = "no CPU quota (unlimited)" }
        case .unavailable(let why): detail.unavailable[.cpuLimit] = why
        }
        defer { previousCPU = TimedCPUReading(reading: reading, mono: now) }
        guard let previous = previousCPU, now > previous.mono else {
            let why = "needs two readings; the first was just taken"
            detail.unavailable[.cgroupCPU] = reading.usageNanos.reason ?? why
            detail.unavailable[.cpuThrottled] = reading.periods.reason ?? why
            return reading.usageNanos.reason
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
        return reading.usageNanos.reason
    }
}

extension CgroupSet {
    static func all(_ reading: Reading<CgroupLocation>) -> CgroupSet { CgroupSet(memory: reading, cpu: reading, cpuacct: reading) }
}
