import KernelReaders
import SampleModel

/// Discovery without a target, cheap on a host with thousands of processes.
///
/// - Every process is classified once: remembered by pid and the inode of its /proc/PID
///   directory (readdir alone tells a reused pid: a new process gets a new inode), confirmed by
///   start time. A scan reads the stat and command line only of processes it has not seen.
/// - A process younger than `settleSeconds` is classified again at every scan (a start script
///   that execs `drum server` soon after it starts); every `verifyEveryNanos` every remembered
///   process's stat is re-read, and one whose comm or start time changed (a late exec) is
///   classified again.
/// - While nothing is found, scans back off from `baseIntervalNanos` to `maxIntervalNanos`.
/// - A DRUM that restarts is found at once: for `hintWindowNanos` after the root was lost, the
///   children of its parent and the members of its cgroup are looked at on every call, and the
///   scans run at the base rate.
/// - With a `match`, only matching roots are found. Each root is checked once, when first seen
///   as a root, and the verdict is remembered with it (checked again only when the process is
///   classified again: young, reused or exec'd); roots that do not match back off like none.
final class DrumScanner {
    static let baseIntervalNanos: UInt64 = 500_000_000
    static let maxIntervalNanos: UInt64 = 4_000_000_000
    static let verifyEveryNanos: UInt64 = 30_000_000_000
    static let hintWindowNanos: UInt64 = 60_000_000_000
    static let settleSeconds = 5.0

    /// A class: a scan updates its mark in place, without writing the entry back.
    private final class Known {
        var inode: UInt64
        var startTimeTicks: UInt64
        var comm: String
        var verdict: DrumVerdict
        /// Classified while younger than `settleSeconds`: classified again at the next scan.
        var young: Bool
        /// A kernel thread never execs: skipped when verifying.
        var kernelThread: Bool
        var mark: UInt32
        /// Against the scanner's `match`, once this process was first seen as a root.
        var match: MatchVerdict?

        init(inode: UInt64, startTimeTicks: UInt64, comm: String, verdict: DrumVerdict, young: Bool, kernelThread: Bool, mark: UInt32) {
            (self.inode, self.startTimeTicks, self.comm, self.verdict) = (inode, startTimeTicks, comm, verdict)
            (self.young, self.kernelThread, self.mark) = (young, kernelThread, mark)
        }
    }

    /// Where a lost root's replacement is likely to appear.
    struct Hints {
        var parentPid: Int32
        /// The cgroup.procs file of the lost root's memory cgroup (nil for a root cgroup: that
        /// would be every process on the host).
        var cgroupProcs: String?
        var untilNanos: UInt64
    }

    enum Outcome: Equatable {
        /// Not time to look yet.
        case notDue
        /// DRUM roots that match, oldest first (possibly none); why some processes could not be
        /// told (whether DRUM, or whether they match); the DRUM roots that do not match.
        case looked(roots: [DiscoveredTarget], unknown: String?, unknownCount: Int, unmatched: [DiscoveredTarget])
    }

    private let discovery: DrumDiscovery
    private let match: DrumMatch?
    private var proc: ProcFiles { discovery.proc }
    private let ticksPerSecond: UInt64
    private var known: [Int32: Known] = [:]
    private var mark: UInt32 = 0
    private var nextScanNanos: UInt64?
    private var intervalNanos = DrumScanner.baseIntervalNanos
    private var lastVerifyNanos: UInt64?
    private var hints: Hints?

    /// For tests and measurements: how many processes were classified (command line read) and
    /// how many full readdir scans ran.
    private(set) var classifications = 0
    private(set) var scans = 0
    /// How many roots were checked against `match`.
    private(set) var matchChecks = 0
    /// The wait before the next scan while nothing is found.
    var currentIntervalNanos: UInt64 { intervalNanos }

    init(discovery: DrumDiscovery, match: DrumMatch? = nil, ticksPerSecond: UInt64) {
        self.discovery = discovery
        self.match = match
        self.ticksPerSecond = ticksPerSecond
    }

    /// The root was lost: look where its replacement will appear, and scan at the base rate.
    func rootLost(parentPid: Int32, cgroupProcs: String?, now: UInt64) {
        hints = Hints(parentPid: parentPid, cgroupProcs: cgroupProcs, untilNanos: now &+ Self.hintWindowNanos)
        intervalNanos = Self.baseIntervalNanos
        nextScanNanos = now
    }

    /// Looks for DRUM if it is time to: hints on every call while they last, the /proc scan on its
    /// schedule. `boot` is CLOCK_BOOTTIME (the base of start times).
    func look(now: UInt64, boot: UInt64) -> Outcome {
        var found = false
        if let h = hints {
            if now >= h.untilNanos {
                hints = nil
            } else {
                found = lookAtHints(h, boot: boot)
            }
        }
        let due = nextScanNanos.map { now >= $0 } ?? true
        guard due || found else { return .notDue }
        if due { scan(now: now, boot: boot) }
        let outcome = roots()
        if case .looked(let roots, _, _, _) = outcome {
            if roots.isEmpty {
                if due {
                    nextScanNanos = now &+ intervalNanos
                    if hints == nil { intervalNanos = min(intervalNanos &* 2, Self.maxIntervalNanos) }
                }
            } else {
                intervalNanos = Self.baseIntervalNanos
                nextScanNanos = now &+ intervalNanos
            }
        }
        return outcome
    }

    // MARK: - Scanning

    private func scan(now: UInt64, boot: UInt64) {
        scans += 1
        mark &+= 1
        let verify = lastVerifyNanos.map { now &- $0 >= Self.verifyEveryNanos } ?? false
        if verify || lastVerifyNanos == nil { lastVerifyNanos = now }
        let current = mark
        var marked = 0
        do {
            try proc.forEachProcess { pid, inode in
                if let k = known[pid], k.inode == inode {
                    if k.young || (verify && !k.kernelThread) {
                        examine(pid, inode: inode, prior: k, boot: boot, reclassify: k.young)
                    } else {
                        k.mark = current
                    }
                } else {
                    examine(pid, inode: inode, prior: known[pid], boot: boot, reclassify: false)
                }
                if known[pid]?.mark == current { marked += 1 }
            }
        } catch {
            return // /proc unreadable: nothing remembered is dropped
        }
        // Processes that exited: not seen by this scan.
        if marked != known.count { known = known.filter { $0.value.mark == current } }
    }

    /// Reads a process's stat; classifies it when it is new, reused, young or changed (comm).
    private func examine(_ pid: Int32, inode: UInt64, prior: Known?, boot: UInt64, reclassify: Bool) {
        guard let stat = try? proc.stat(pid) else {
            known[pid] = nil
            return
        }
        if let k = prior, k.startTimeTicks == stat.startTimeTicks, k.comm == stat.comm, !reclassify {
            k.inode = inode
            k.mark = mark
            known[pid] = k
            return
        }
        classifications += 1
        let classified = discovery.classify(pid)
        let argvEmpty = classified == nil
        known[pid] = Known(
            inode: inode, startTimeTicks: stat.startTimeTicks, comm: stat.comm,
            verdict: classified?.verdict ?? .notDrum,
            young: SamplingSteps.isYounger(startTimeTicks: stat.startTimeTicks, ticksPerSecond: ticksPerSecond,
                                           bootNanos: boot, than: Self.settleSeconds),
            kernelThread: argvEmpty && (stat.ppid == 2 || pid == 2), mark: mark)
    }

    /// New children of the lost root's parent and new members of its cgroup; true if one is DRUM.
    private func lookAtHints(_ h: Hints, boot: UInt64) -> Bool {
        var pids: [Int32] = []
        _ = try? proc.mainThreadChildren(h.parentPid, into: &pids)
        if let procs = h.cgroupProcs, let members = try? ProcFiles.cgroupProcs(procs) { pids += members }
        var found = false
        for pid in pids where known[pid] == nil {
            // Inode unknown here (0): the next scan confirms it by start time.
            examine(pid, inode: 0, prior: nil, boot: boot, reclassify: false)
            if known[pid]?.verdict.mode != nil { found = true }
        }
        return found
    }

    /// Every remembered DRUM process climbed to its root; the first reason some could not be told.
    private func roots() -> Outcome {
        var roots: [Int32: DiscoveredTarget] = [:]
        var unknown: String?
        var unknownCount = 0
        for (pid, k) in known {
            switch k.verdict {
            case .drum:
                guard roots[pid] == nil, let root = discovery.root(from: pid) else { continue }
                roots[root.pid] = root
            case .unknown(let why):
                unknownCount += 1
                if unknown == nil { unknown = why }
            case .notDrum:
                continue
            }
        }
        let all = DiscoveredTarget.oldestFirst(Array(roots.values))
        guard let match else { return .looked(roots: all, unknown: unknown, unknownCount: unknownCount, unmatched: []) }
        var matching: [DiscoveredTarget] = []
        var unmatched: [DiscoveredTarget] = []
        var unknownRoot: String?
        for root in all {
            switch verdict(root, against: match) {
            case .matches: matching.append(root)
            case .differs: unmatched.append(root)
            case .unknown(let why):
                unknownCount += 1
                if unknownRoot == nil { unknownRoot = why }
            }
        }
        // A DRUM root that may be the one asked for is the better example.
        return .looked(roots: matching, unknown: unknownRoot ?? unknown, unknownCount: unknownCount, unmatched: unmatched)
    }

    /// The root's verdict, remembered with the process (a root not remembered, e.g. an ancestor
    /// no scan has seen yet, is checked without being remembered).
    private func verdict(_ root: DiscoveredTarget, against match: DrumMatch) -> MatchVerdict {
        let k = known[root.pid].flatMap { $0.startTimeTicks == root.startTimeTicks ? $0 : nil }
        if let remembered = k?.match { return remembered }
        matchChecks += 1
        let verdict = discovery.check(root, against: match)
        k?.match = verdict
        return verdict
    }
}
