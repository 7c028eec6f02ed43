import KernelReaders
import SampleModel
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Takes one sample per call to `tick()`: finds or follows the DRUM target, walks its tree, and
/// reads the watched cgroup. Synchronous and single-threaded: `SamplingLoop` calls it from its
/// own queue, tests call it directly.
public final class Sampler {
    public let configuration: SamplerConfiguration
    private let discovery: DrumDiscovery
    private let proc: ProcFiles
    private let logger: Logger
    private let meminfo: Reading<HeldFile>

    private var root: TrackedProcess?
    private var rootMode: DrumMode?
    private var rootCmdline: HeldFile?
    private var rootCmdlineBytes: [UInt8] = []
    /// What changes in the root's stat line when it execs (see `rootExeced`), and when its
    /// cmdline was last compared.
    private var rootExecMarks = ExecMarks()
    private var rootCmdlineCheckedMono: UInt64 = 0
    private var tree: ProcessTree
    private var generation: UInt32 = 0
    private var sequence: UInt64 = 0
    private var lastDiscoveryMono: UInt64?
    private var noTargetMessage = "no DRUM process found yet"

    private let cgroups: CgroupWatcher
    private var previousMono: UInt64?

    /// Discovery scans all of /proc, so without a target it runs at most this often.
    static let rediscoverEveryNanos: UInt64 = 500_000_000

    /// The tree's CPU counter, shared with the sampler this one replaces (a reload), so that it
    /// continues rather than counting the tree's whole life again.
    public let cpuAccount: TreeCPUAccount

    public init(configuration: SamplerConfiguration, logger: Logger = Logger(label: "drum-monitor.sampler"),
                cpuAccount: TreeCPUAccount = TreeCPUAccount()) throws(KernelFileError) {
        self.configuration = configuration
        self.logger = logger
        self.cpuAccount = cpuAccount
        cgroups = CgroupWatcher(locator: try CgroupLocator(paths: configuration.paths), override: configuration.cgroupOverride)
        proc = ProcFiles(paths: configuration.paths)
        discovery = DrumDiscovery(proc: proc, readEnvironment: configuration.readEnvironment)
        tree = ProcessTree(paths: configuration.paths)
        do { meminfo = .value(try HeldFile(path: configuration.paths.meminfo)) } catch { meminfo = .unavailable("\(error)") }
    }

    /// Takes a sample now.
    public func tick() -> (Sample, SampleDetail) {
        let mono = Clock.monotonicNanos()
        let wall = Clock.wallNanos()
        followTarget(now: mono)
        if let root { tree.update(root: root, now: mono, ticksPerSecond: configuration.constants.clockTicksPerSecond) }
        // Without a target the daemon's own cgroup stands in (issue 11 item 6 changes that).
        cgroups.follow(targetPid: root?.pid ?? configuration.fallbackPid, generation: generation, now: mono)

        sequence += 1
        var values = MetricValues()
        var detail = SampleDetail(target: SampleDetail.Target(
            found: root != nil, rootPid: root?.pid, mode: root == nil ? nil : rootMode, generation: generation,
            processCount: root == nil ? 0 : tree.processes.count, message: root == nil ? noTargetMessage : nil))
        if let previousMono, mono > previousMono { detail.intervalSeconds = Double(mono - previousMono) / 1e9 }
        previousMono = mono

        readHost(&values, &detail)
        cgroups.read(&values, &detail, now: mono)
        readTree(&values, &detail)
        for metric in Metric.allCases where values[metric] == nil && detail.unavailable[metric] == nil {
            detail.unavailable[metric] = "not measured"
        }
        let sample = Sample(sequence: sequence, wallNanos: wall, monoNanos: mono, generation: generation, values: values)
        return (sample, detail)
    }

    // MARK: - Target

    private func followTarget(now: UInt64) {
        if let current = root {
            if !current.refresh(now: now, ticksPerSecond: configuration.constants.clockTicksPerSecond) {
                logger.info("DRUM root \(current.pid) is gone")
                detach(message: "DRUM process \(current.pid) exited; looking for it again")
            } else if rootExeced(now: now) {
                // Same process, new program (DRUM exec's into gunicorn): re-classify.
                let argv = ProcCmdline.parse(rootCmdlineBytes)
                rootMode = DrumCommandLine.classify(argv) { [discovery, pid = current.pid] in
                    discovery.readEnvironment ? (try? discovery.proc.environment(pid, DrumCommandLine.gunicornArgsVariable)) ?? nil : nil
                } ?? (configuration.target == .discover ? rootMode : .pid)
                current.cmdline = argv
                generation &+= 1
                logger.info("DRUM root \(current.pid) exec'd: now \(rootMode?.rawValue ?? "?") \(argv.joined(separator: " "))")
            }
        }
        if case .pidfile(let file) = configuration.target {
            do {
                let pid = try PidFile.read(file)
                if let current = root, current.pid != pid { detach(message: "pidfile \(file) now names \(pid)") }
                if root == nil { attach(pid: pid) }
            } catch {
                if root != nil { detach(message: "\(error)") }
                noTargetMessage = "no target: \(error)"
            }
            return
        }
        guard root == nil else { return }
        switch configuration.target {
        case .pid(let pid):
            attach(pid: pid)
        case .discover:
            if let last = lastDiscoveryMono, now &- last < Self.rediscoverEveryNanos { return }
            lastDiscoveryMono = now
            let roots = discovery.findRoots()
            if let first = roots.first {
                if roots.count > 1 {
                    logger.warning("\(roots.count) DRUM servers found; watching the oldest, pid \(first.pid). Use --pid to choose.")
                }
                attach(pid: first.pid, known: first)
            } else {
                noTargetMessage = "no DRUM process found (looking for `drum server`, DRUM's gunicorn or -m datarobot_drum)"
            }
        case .rootOf(let pid):
            if let found = discovery.root(from: pid) {
                attach(pid: found.pid, known: found)
            } else {
                noTargetMessage = "no DRUM process at or above pid \(pid)"
            }
        case .pidfile:
            break
        }
    }

    private func attach(pid: Int32, known: DiscoveredTarget? = nil) {
        let target: DiscoveredTarget
        do {
            target = try known ?? discovery.target(pid: pid)
            let tracked = try TrackedProcess(pid: target.pid, paths: configuration.paths, proc: proc)
            guard tracked.startTimeTicks == target.startTimeTicks else {
                noTargetMessage = "pid \(pid) changed while attaching"
                return
            }
            tracked.role = .master
            tracked.readsArgAddresses = true
            _ = tracked.refresh(now: Clock.monotonicNanos(), ticksPerSecond: configuration.constants.clockTicksPerSecond)
            root = tracked
        } catch {
            noTargetMessage = "no target: pid \(pid): \(error)"
            return
        }
        rootMode = target.mode
        rootCmdline = try? HeldFile(path: configuration.paths.proc(target.pid, "cmdline"))
        rootCmdlineBytes = (try? rootCmdline?.readAll()) ?? []
        if let root { rootExecMarks = ExecMarks(root.stat) }
        rootCmdlineCheckedMono = Clock.monotonicNanos()
        tree.reset()
        generation &+= 1
        logger.info("watching DRUM root \(target.pid) (\(target.mode.rawValue)): \(target.argv.joined(separator: " "))")
    }

    private func detach(message: String) {
        root = nil
        rootCmdline = nil
        rootMode = nil
        tree.reset()
        noTargetMessage = message
    }

    /// Cheap signs of an exec in the root's stat line: a new program gets a new argv address
    /// (fields 48–49, randomized) and usually a new comm.
    struct ExecMarks: Equatable {
        var comm = ""
        var argStart: UInt64 = 0
        var argEnd: UInt64 = 0
        init() {}
        init(_ stat: ProcStat) { (comm, argStart, argEnd) = (stat.comm, stat.argStart, stat.argEnd) }
    }

    /// True when the root's cmdline changed since it was last compared. Reading another process's
    /// cmdline costs ~3 µs (it is copied out of that process's memory), so it is compared when
    /// the stat line shows a sign of an exec, when the kernel hides the argv addresses (0: no
    /// ptrace access), and otherwise once a second, which bounds how late an exec that keeps
    /// comm and, with address randomization off, argv's place, can be noticed.
    private func rootExeced(now: UInt64) -> Bool {
        guard let file = rootCmdline, let root else { return false }
        let marks = ExecMarks(root.stat)
        let due = now &- rootCmdlineCheckedMono >= Self.cmdlineCheckEveryNanos
        guard marks != rootExecMarks || marks.argStart == 0 || due else { return false }
        rootExecMarks = marks
        rootCmdlineCheckedMono = now
        // Compared in place: copied only when it changed (an exec), not on every check.
        let known = rootCmdlineBytes
        guard let changed = try? file.withContents({ bytes throws(KernelFileError) in
            let same = known.count == bytes.count && (bytes.isEmpty || known.withUnsafeBytes { k in
                guard let a = k.baseAddress, let b = bytes.baseAddress else { return false }
                return memcmp(a, b, bytes.count) == 0
            })
            return same ? nil : Array(bytes)
        }) else { return false }
        rootCmdlineBytes = changed
        return true
    }

    static let cmdlineCheckEveryNanos: UInt64 = 1_000_000_000

    // MARK: - Readings

    private func readHost(_ values: inout MetricValues, _ detail: inout SampleDetail) {
        guard case .value(let file) = meminfo else {
            detail.unavailable[.hostAvailable] = meminfo.reason
            return
        }
        do {
            let h = try file.withContents { b throws(KernelFileError) in try HostMemory.parse(b, path: file.path) }
            values[.hostAvailable] = Double(h.availableBytes)
            detail.hostTotalBytes = h.totalBytes
            detail.hostFreeBytes = h.freeBytes
        } catch {
            detail.unavailable[.hostAvailable] = "\(error)"
        }
    }

    private func readTree(_ values: inout MetricValues, _ detail: inout SampleDetail) {
        guard let root else {
            for m in [Metric.treeCPU, .treeRSS, .processCount] { detail.unavailable[m] = noTargetMessage }
            return
        }
        let pageSize = configuration.constants.pageSize
        let rootArgv = root.cmdline
        var rss: UInt64 = 0
        var cpu: Double = 0
        var processes: [SampleDetail.Process] = []
        processes.reserveCapacity(tree.processes.count)
        for process in tree.processes.values {
            if process !== root, process.roleGeneration != generation {
                process.role = (process.cmdline == rootArgv || DrumCommandLine.classify(process.cmdline) != nil) ? .worker : .child
                process.roleGeneration = generation
            }
            let bytes = process.stat.rssPages &* pageSize
            rss &+= bytes
            cpu += process.cpuCores ?? 0
            processes.append(SampleDetail.Process(pid: process.pid, ppid: process.stat.ppid, role: process.role,
                                                  cmdline: process.cmdline, rssBytes: bytes, cpuCores: process.cpuCores))
        }
        processes.sort { a, b in
            let aRoot = a.pid == root.pid, bRoot = b.pid == root.pid
            return aRoot != bRoot ? aRoot : a.pid < b.pid
        }
        detail.counters.treeCPUTicks = cpuAccount.record(tree.processes.values.lazy.map { p in
            TreeCPUAccount.Reading(pid: p.pid, ppid: p.stat.ppid, startTimeTicks: p.startTimeTicks,
                                   ownTicks: p.stat.cpuTicks, reapedTicks: p.stat.cutimeTicks &+ p.stat.cstimeTicks)
        })
        detail.counters.ticksPerSecond = configuration.constants.clockTicksPerSecond
        values[.treeRSS] = Double(rss)
        values[.processCount] = Double(processes.count)
        // Absent until the root has two readings; a newly forked worker adds from its second.
        if root.cpuCores != nil { values[.treeCPU] = cpu } else { detail.unavailable[.treeCPU] = "needs two readings of the DRUM root" }
        detail.processes = processes
    }
}
