import KernelReaders
import SampleModel

/// A process of the DRUM tree, with its files held and its previous CPU reading.
final class TrackedProcess {
    let pid: Int32
    let startTimeTicks: UInt64
    let held: HeldProcess
    var cmdline: [String]
    /// Decided when the process joins the tree (or the root execs).
    var role: ProcessRole
    /// The target generation the role was decided in (a root exec may change it).
    var roleGeneration: UInt32?
    var stat: ProcStat
    var previousCPUTicks: UInt64?
    var previousMono: UInt64?
    var cpuCores: Double?
    /// Children as last read from the kernel (see `ProcessTree.update` for when that is); nil
    /// until the first read, which happens on the first tick the process is in the tree.
    var knownChildren: [Int32]?

    init(pid: Int32, paths: KernelPaths, proc: ProcFiles) throws(KernelFileError) {
        self.pid = pid
        held = try HeldProcess(pid: pid, paths: paths)
        stat = try held.stat()
        startTimeTicks = stat.startTimeTicks
        cmdline = (try? proc.cmdline(pid)) ?? []
        role = .child
    }

    /// Also read where argv sits (stat fields 48–49) on each refresh: set for the root, whose exec
    /// (DRUM becoming gunicorn) the sampler watches for.
    var readsArgAddresses = false

    /// Re-reads stat; false when the process is gone or the pid now belongs to another process.
    func refresh(now: UInt64, ticksPerSecond: UInt64) -> Bool {
        guard let s = try? held.stat(throughArgs: readsArgAddresses), s.startTimeTicks == startTimeTicks else { return false }
        stat = s
        let ticks = s.cpuTicks
        if let prevTicks = previousCPUTicks, let prevMono = previousMono, now > prevMono, ticks >= prevTicks {
            cpuCores = Double(ticks - prevTicks) / Double(ticksPerSecond) / (Double(now - prevMono) / 1e9)
        } else {
            cpuCores = nil
        }
        previousCPUTicks = ticks
        previousMono = now
        return true
    }
}

/// Keeps the set of processes under a root current. The root's children (DRUM's workers) are
/// re-read every tick, from its held main-thread children file, so a replaced worker is seen at
/// once. Deeper levels (what workers spawn) and children of non-main threads are re-read at most
/// once a second (every thread's children files, or a /proc scan on kernels without them): such
/// forks are rare, and between reads the known descendants are still followed, each checked by
/// pid, start time and parent. The cgroup's memory and CPU, read every tick, include them anyway.
/// One children read per worker per tick would be a sixth of the sampler's cost.
struct ProcessTree {
    let paths: KernelPaths
    let proc: ProcFiles
    private(set) var processes: [Int32: TrackedProcess] = [:]
    private var lastFullScanMono: UInt64 = 0
    // Reused every tick rather than reallocated.
    private var scratch: [Int32: TrackedProcess] = [:]
    private var queue: [TrackedProcess] = []
    private var kids: [Int32] = []
    static let fullScanEveryNanos: UInt64 = 1_000_000_000

    init(paths: KernelPaths) {
        self.paths = paths
        proc = ProcFiles(paths: paths)
    }

    mutating func reset() {
        processes = [:]
        lastFullScanMono = 0
    }

    /// Walks the tree from `root` (already tracked) and returns whether it changed.
    @discardableResult
    mutating func update(root: TrackedProcess, now: UInt64, ticksPerSecond: UInt64) -> Bool {
        let fullScan = now &- lastFullScanMono >= Self.fullScanEveryNanos
        if fullScan { lastFullScanMono = now }
        var parentMap: [Int32: [Int32]]?
        var reachable = scratch
        scratch = [:]
        reachable.removeAll(keepingCapacity: true)
        reachable[root.pid] = root
        queue.removeAll(keepingCapacity: true)
        queue.append(root)
        var changed = false
        var index = 0
        while index < queue.count {
            let parent = queue[index]
            index += 1
            kids.removeAll(keepingCapacity: true)
            let readsChildren = fullScan || parent === root || parent.knownChildren == nil
            if readsChildren {
                var found: Bool
                if fullScan {
                    if let all = (try? proc.children(parent.pid)) ?? nil { kids.append(contentsOf: all); found = true } else { found = false }
                } else {
                    found = (try? parent.held.mainThreadChildren(into: &kids)) ?? false
                }
                if !found {
                    // No children files on this kernel: fall back to one /proc scan per tick at most.
                    if parentMap == nil {
                        var map: [Int32: [Int32]] = [:]
                        for (pid, ppid) in (try? proc.parentMap()) ?? [:] { map[ppid, default: []].append(pid) }
                        parentMap = map
                    }
                    kids.append(contentsOf: parentMap?[parent.pid] ?? [])
                }
                if parent.knownChildren != kids { parent.knownChildren = kids }
            } else {
                kids.append(contentsOf: parent.knownChildren ?? [])
            }
            for kid in kids where reachable[kid] == nil {
                let tracked: TrackedProcess
                if let existing = processes[kid], existing.refresh(now: now, ticksPerSecond: ticksPerSecond),
                   readsChildren || existing.stat.ppid == parent.pid {
                    tracked = existing
                } else if readsChildren, let fresh = try? TrackedProcess(pid: kid, paths: paths, proc: proc) {
                    _ = fresh.refresh(now: now, ticksPerSecond: ticksPerSecond)
                    tracked = fresh
                    changed = true
                } else {
                    continue // exited (or, between reads, moved) since its parent's children were read
                }
                reachable[kid] = tracked
                queue.append(tracked)
            }
        }
        if reachable.count != processes.count || processes.keys.contains(where: { reachable[$0] == nil }) {
            changed = true
        }
        scratch = processes
        processes = reachable
        return changed
    }
}
