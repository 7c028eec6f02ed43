import KernelReaders
import SampleModel

/// One reading of a process's CPU time: what a rate needs from each end of an interval.
public struct CPUTimeReading: Sendable, Equatable {
    /// With the pid, identifies the process (a reused pid gets a later start time).
    public var startTimeTicks: UInt64
    /// utime + stime, in clock ticks.
    public var cpuTicks: UInt64
    /// When it was read (CLOCK_MONOTONIC, ns).
    public var monoNanos: UInt64

    public init(startTimeTicks: UInt64, cpuTicks: UInt64, monoNanos: UInt64) {
        self.startTimeTicks = startTimeTicks
        self.cpuTicks = cpuTicks
        self.monoNanos = monoNanos
    }

    public init(_ stat: ProcStat, at monoNanos: UInt64) {
        self.init(startTimeTicks: stat.startTimeTicks, cpuTicks: stat.cpuTicks, monoNanos: monoNanos)
    }
}

/// Cheap signs of an exec in a process's stat line: a new program gets a new argv address
/// (fields 48–49, randomized) and usually a new comm.
public struct ExecMarks: Sendable, Equatable {
    public var comm = ""
    public var argStart: UInt64 = 0
    public var argEnd: UInt64 = 0

    public init() {}
    public init(_ stat: ProcStat) { (comm, argStart, argEnd) = (stat.comm, stat.argStart, stat.argEnd) }
}

/// The sampler's computations as pure functions of readings and their times (the way below's
/// model computes process rates from two samples): no files, no clock, no state.
public enum SamplingSteps {
    /// Cores a process used between two readings. nil without a previous reading, across a pid
    /// reuse (the start times differ), when no time passed, or when the counter went backwards —
    /// never a made-up 0.
    public static func cpuCores(from previous: CPUTimeReading?, to current: CPUTimeReading, ticksPerSecond: UInt64) -> Double? {
        guard let previous, previous.startTimeTicks == current.startTimeTicks,
              current.monoNanos > previous.monoNanos, current.cpuTicks >= previous.cpuTicks, ticksPerSecond > 0 else {
            return nil
        }
        let seconds = Double(current.monoNanos - previous.monoNanos) / 1e9
        return Double(current.cpuTicks - previous.cpuTicks) / Double(ticksPerSecond) / seconds
    }

    /// The measured time between two samples, in seconds (nil for the first).
    public static func intervalSeconds(from previousMono: UInt64?, to mono: UInt64) -> Double? {
        guard let previousMono, mono > previousMono else { return nil }
        return Double(mono - previousMono) / 1e9
    }

    /// Whether two stat readings of a pid are the same process: a pid reused by a new process
    /// comes with that process's (later) start time.
    public static func sameProcess(_ a: ProcStat, _ b: ProcStat) -> Bool {
        a.pid == b.pid && a.startTimeTicks == b.startTimeTicks
    }

    /// Whether to compare the root's cmdline now (reading another process's cmdline costs ~3 µs:
    /// it is copied out of that process's memory): when the stat line shows a sign of an exec,
    /// when the kernel hides the argv addresses (0: no ptrace access), and otherwise every
    /// `every` ns, which bounds how late an exec that keeps comm and, with address randomization
    /// off, argv's place, is noticed.
    public static func shouldCompareCmdline(known: ExecMarks, now marks: ExecMarks, lastComparedNanos: UInt64,
                                            nowNanos: UInt64, every: UInt64) -> Bool {
        marks != known || marks.argStart == 0 || nowNanos &- lastComparedNanos >= every
    }

    /// Whether a process's age (from its start time, in clock ticks after boot) is below `seconds`.
    public static func isYounger(startTimeTicks: UInt64, ticksPerSecond: UInt64, bootNanos: UInt64, than seconds: Double) -> Bool {
        guard ticksPerSecond > 0 else { return false }
        let started = Double(startTimeTicks) / Double(ticksPerSecond)
        return Double(bootNanos) / 1e9 - started < seconds
    }

    /// The tree's figures from its processes (in any order; the root is `rootPid`): total RSS,
    /// count, CPU (absent until the root has two readings; a new process adds from its second),
    /// and the list as the API shows it, root first, then by pid. When the walk could not hold
    /// every process (`incomplete`), the sums would undercount: they are unavailable, with why.
    public static func treeFigures(_ processes: inout [SampleDetail.Process], rootPid: Int32, rootHasCPU: Bool,
                                   incomplete: String?, values: inout MetricValues, unavailable: inout MetricReasons) {
        var rss: UInt64 = 0
        var cpu: Double = 0
        for p in processes {
            rss &+= p.rssBytes
            cpu += p.cpuCores ?? 0
        }
        processes.sort { a, b in
            let aRoot = a.pid == rootPid, bRoot = b.pid == rootPid
            return aRoot != bRoot ? aRoot : a.pid < b.pid
        }
        if let incomplete {
            for m in [Metric.treeRSS, .treeCPU, .processCount] { unavailable[m] = incomplete }
            return
        }
        values[.treeRSS] = Double(rss)
        values[.processCount] = Double(processes.count)
        if rootHasCPU { values[.treeCPU] = cpu } else { unavailable[.treeCPU] = "needs two readings of the DRUM root" }
    }

    /// Host memory: MemAvailable into the values, total and free into the detail.
    public static func hostMemory(_ reading: Reading<HostMemory>, values: inout MetricValues, detail: inout SampleDetail) {
        switch reading {
        case .value(let h):
            values[.hostAvailable] = Double(h.availableBytes)
            detail.hostTotalBytes = h.totalBytes
            detail.hostFreeBytes = h.freeBytes
        case .unavailable(let why):
            detail.unavailable[.hostAvailable] = why
        }
    }
}
