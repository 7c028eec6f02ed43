import KernelReaders

/// A process of the DRUM tree, with its files held and its previous CPU reading.
final class TrackedProcess {
    let pid: Int32
    let startTimeTicks: UInt64
    let held: HeldProcess
    var cmdline: [String]
    /// master, worker or child; decided when the process joins the tree (or the root execs).
    var role: String
    /// The target generation the role was decided in (a root exec may change it).
    var roleGeneration: UInt32?
    var stat: ProcStat
    var previousCPUTicks: UInt64?
    var previousMono: UInt64?
    var cpuCores: Double?

    init(pid: Int32, paths: KernelPaths, proc: ProcFiles) throws(KernelFileError) {
        self.pid = pid
        held = try HeldProcess(pid: pid, paths: paths)
        stat = try held.stat()
        startTimeTicks = stat.startTimeTicks
        cmdline = (try? proc.cmdline(pid)) ?? []
        role = "child"
    }

    /// Re-reads stat; false when the process is gone or the pid now belongs to another process.
    func refresh(now: UInt64, ticksPerSecond: UInt64) -> Bool {
        guard let s = try? held.stat(), s.startTimeTicks == startTimeTicks else { return false }
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

/// Keeps the set of processes under a root current: children from the held main-thread
/// children files every tick, every thread's children files (or a /proc scan on kernels without
/// them) at most once a second, since forks from non-main threads are rare.
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

    mutating func reset() { processes = [:] }

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
            for kid in kids where reachable[kid] == nil {
                let tracked: TrackedProcess
                if let existing = processes[kid], existing.refresh(now: now, ticksPerSecond: ticksPerSecond) {
                    tracked = existing
                } else if let fresh = try? TrackedProcess(pid: kid, paths: paths, proc: proc) {
                    _ = fresh.refresh(now: now, ticksPerSecond: ticksPerSecond)
                    tracked = fresh
                    changed = true
                } else {
                    continue // exited between the children read and now
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
