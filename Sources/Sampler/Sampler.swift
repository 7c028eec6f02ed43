import KernelReaders
import Logging
import SampleModel

/// Takes one sample per call to `tick()`: the tracker follows the target, the tree is walked,
/// the watched cgroup is read, and the pure steps (`SamplingSteps`) turn the readings into the
/// sample's values. Synchronous and single-threaded: `SamplingLoop` calls it from its own queue,
/// tests call it directly, with a clock of their choosing.
public final class Sampler {
    public let configuration: SamplerConfiguration
    /// Shared with the sampler this one replaces or is replaced by (see `SampleCounters`).
    public let counters: SampleCounters
    private let logger: Logger
    private let clock: any SamplerClock
    private let meminfo: Reading<HeldFile>
    private let tracker: TargetTracker
    private var tree: ProcessTree
    private let cgroups: CgroupWatcher
    private var previousMono: UInt64?
    /// The tree walk's "incomplete" warning is logged once per episode.
    private var warnedIncomplete = false
    private var tickedBefore = false

    /// The tree's CPU counter, shared with the sampler this one replaces (a reload), so that it
    /// continues rather than counting the tree's whole life again.
    public let cpuAccount: TreeCPUAccount

    /// `counters`: pass the previous sampler's to continue its sequence and generation (a
    /// reload, a history adopted from a file); this sampler then starts a generation of its own.
    /// `cpuAccount` likewise continues the tree's CPU counter.
    public init(configuration: SamplerConfiguration, logger: Logger = Logger(label: "drum-monitor.sampler"),
                clock: any SamplerClock = SystemClock(), counters: SampleCounters = SampleCounters(),
                cpuAccount: TreeCPUAccount = TreeCPUAccount()) throws(KernelFileError) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.counters = counters
        self.cpuAccount = cpuAccount
        let locator = try CgroupLocator(paths: configuration.paths)
        cgroups = CgroupWatcher(locator: locator, override: configuration.cgroupOverride)
        tracker = TargetTracker(configuration: configuration, locator: locator, logger: logger, clock: clock, counters: counters)
        tree = ProcessTree(paths: configuration.paths)
        do { meminfo = .value(try HeldFile(path: configuration.paths.meminfo)) } catch { meminfo = .unavailable("\(error)") }
    }

    /// For tests and measurements: discovery's work so far (nil unless discovering).
    public var discoveryStatistics: (scans: Int, classifications: Int, matchChecks: Int)? { tracker.scannerStatistics }

    /// Takes a sample now.
    public func tick() -> (Sample, SampleDetail) {
        if !tickedBefore {
            tickedBefore = true
            // Continuing another sampler (its counters): what it sampled was under its target's
            // generation, which this one's samples must not carry. Done here, on the sampling
            // queue, not in init: the other sampler may still be ticking then.
            if counters.sequence > 0 { counters.nextGeneration() }
        }
        let mono = clock.monotonicNanos()
        let wall = clock.wallNanos()
        if tracker.follow(now: mono) { tree.reset() }
        let root = tracker.root
        if let root { tree.update(root: root, now: mono, ticksPerSecond: configuration.constants.clockTicksPerSecond) }
        let generation = tracker.generation
        cgroups.follow(targetPid: root?.pid, generation: generation, now: mono)

        let sequence = counters.nextSequence()
        var values = MetricValues()
        var detail = SampleDetail(target: SampleDetail.Target(
            found: root != nil, rootPid: root?.pid, mode: root == nil ? nil : tracker.mode, generation: generation,
            processCount: root == nil ? 0 : tree.processes.count, message: targetMessage()))
        detail.target.mlopsDeploymentID = root == nil ? nil : tracker.mlopsDeploymentID
        detail.target.mlopsModelID = root == nil ? nil : tracker.mlopsModelID
        detail.intervalSeconds = SamplingSteps.intervalSeconds(from: previousMono, to: mono)
        previousMono = mono
        detail.bootNanos = clock.bootNanos()

        SamplingSteps.hostMemory(readHost(), values: &values, detail: &detail)
        cgroups.read(&values, &detail, now: mono)
        readTree(&values, &detail)
        for metric in Metric.allCases where values[metric] == nil && detail.unavailable[metric] == nil {
            detail.unavailable[metric] = "not measured"
        }
        let sample = Sample(sequence: sequence, wallNanos: wall, monoNanos: mono, generation: generation, values: values)
        return (sample, detail)
    }

    private func targetMessage() -> String? {
        guard tracker.root != nil else { return tracker.message ?? "no target" }
        noteIncompleteTree()
        switch (tree.incomplete, tracker.message) {
        case (let a?, let b?): return a + "; " + b
        case (let a, let b): return a ?? b
        }
    }

    private func noteIncompleteTree() {
        if let why = tree.incomplete, !warnedIncomplete {
            logger.warning("\(why)")
            warnedIncomplete = true
        } else if tree.incomplete == nil, warnedIncomplete {
            logger.info("the process tree is complete again")
            warnedIncomplete = false
        }
    }

    // MARK: - Readings

    private func readHost() -> Reading<HostMemory> {
        guard case .value(let file) = meminfo else { return .unavailable(meminfo.reason ?? "no /proc/meminfo") }
        do {
            return .value(try file.withContents { b throws(KernelFileError) in try HostMemory.parse(b, path: file.path) })
        } catch {
            return .unavailable("\(error)")
        }
    }

    private func readTree(_ values: inout MetricValues, _ detail: inout SampleDetail) {
        guard let root = tracker.root else {
            let why = tracker.message ?? "no target"
            for m in [Metric.treeCPU, .treeRSS, .processCount] { detail.unavailable[m] = why }
            return
        }
        let pageSize = configuration.constants.pageSize
        let generation = tracker.generation
        let nanosPerTick = 1_000_000_000 / Swift.max(configuration.constants.clockTicksPerSecond, 1)
        var processes: [SampleDetail.Process] = []
        processes.reserveCapacity(tree.processes.count)
        for process in tree.processes.values {
            if process !== root, process.roleGeneration != generation {
                process.role = DrumCommandLine.role(argv: process.cmdline, ppid: process.stat.ppid,
                                                    rootPid: root.pid, rootArgv: root.cmdline)
                process.roleGeneration = generation
            }
            // Z (zombie) and X (dead): exited, waiting for the parent to reap it.
            let exited = process.stat.state == UInt8(ascii: "Z") || process.stat.state == UInt8(ascii: "X")
            processes.append(SampleDetail.Process(pid: process.pid, ppid: process.stat.ppid, role: process.role,
                                                  cmdline: process.cmdline, rssBytes: process.stat.rssPages &* pageSize,
                                                  cpuCores: process.cpuCores, startNanos: process.startTimeTicks &* nanosPerTick,
                                                  exited: exited))
        }
        SamplingSteps.treeFigures(&processes, rootPid: root.pid, rootHasCPU: root.cpuCores != nil,
                                  incomplete: tree.incomplete, values: &values, unavailable: &detail.unavailable)
        // A walk that could not hold every process would count the missing ones as gone, and
        // whole again when they are back: the counter is left out until the tree is complete.
        if tree.incomplete == nil {
            detail.counters.treeCPUTicks = cpuAccount.record(tree.processes.values.lazy.map { p in
                TreeCPUAccount.Reading(pid: p.pid, ppid: p.stat.ppid, startTimeTicks: p.startTimeTicks,
                                       ownTicks: p.stat.cpuTicks, reapedTicks: p.stat.cutimeTicks &+ p.stat.cstimeTicks)
            })
            detail.counters.ticksPerSecond = configuration.constants.clockTicksPerSecond
        }
        detail.processes = processes
    }
}
