import KernelReaders
import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// A process of the DRUM tree, with its stat file held and its previous CPU reading.
final class TrackedProcess {
    let pid: Int32
    let startTimeTicks: UInt64
    let held: HeldProcess
    var cmdline: [String]
    /// Decided when the process joins the tree (or the root execs).
    var role: ProcessRole
    /// The target generation the role was decided in (a root exec may change it).
    var roleGeneration: UInt32?
    /// The last stat read; `comm` only for the root (see `refresh`).
    var stat: ProcStat
    private var previousCPU: CPUTimeReading?
    var cpuCores: Double?
    /// Children as last read from the kernel (see `ProcessTree.update` for when that is); nil
    /// until the first read, which happens on the first tick the process is in the tree.
    var knownChildren: [Int32]?
    /// The last walk that reached this process (`ProcessTree.walk`): whether a pid was already
    /// reached in this walk is one compare, not a set lookup.
    var reachedInWalk: UInt64 = 0

    /// `isRoot`: also hold the children file (re-read every tick) and read where argv sits (stat
    /// fields 48–49) on each refresh, to notice the root's exec (DRUM becoming gunicorn).
    init(pid: Int32, paths: KernelPaths, proc: ProcFiles, isRoot: Bool = false) throws(KernelFileError) {
        self.pid = pid
        held = try HeldProcess(pid: pid, paths: paths, holdsChildren: isRoot)
        readsArgAddresses = isRoot
        stat = try held.stat(throughArgs: isRoot)
        startTimeTicks = stat.startTimeTicks
        cmdline = (try? proc.cmdline(pid)) ?? []
        role = isRoot ? .master : .child
    }

    let readsArgAddresses: Bool

    /// Re-reads stat; false when the process is gone or the pid now belongs to another process.
    /// Only the root's comm is read (a sign of its exec): the others' `stat.comm` is empty.
    func refresh(now: UInt64, ticksPerSecond: UInt64) -> Bool {
        guard let s = try? held.stat(throughArgs: readsArgAddresses, withComm: readsArgAddresses),
              s.startTimeTicks == startTimeTicks else { return false }
        stat = s
        let reading = CPUTimeReading(s, at: now)
        cpuCores = SamplingSteps.cpuCores(from: previousCPU, to: reading, ticksPerSecond: ticksPerSecond)
        previousCPU = reading
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
///
/// Each process costs one held descriptor (its stat file; the root two). When a process cannot be
/// held or a children list cannot be read for want of descriptors (EMFILE, ENFILE), the walk says
/// so in `incomplete` rather than silently undercounting.
struct ProcessTree {
    let paths: KernelPaths
    let proc: ProcFiles
    private(set) var processes: [Int32: TrackedProcess] = [:]
    /// Why the last walk missed processes (out of descriptors), or nil when it saw them all.
    private(set) var incomplete: String?
    private var lastFullScanMono: UInt64 = 0
    private var walk: UInt64 = 0
    // Reused every tick rather than reallocated. `queue` ends up holding every process reached;
    // `fresh` the ones first seen in this walk (rare: only then is `processes` rebuilt).
    private var queue: [TrackedProcess] = []
    private var fresh: [Int32: TrackedProcess] = [:]
    private var kids: [Int32] = []
    static let fullScanEveryNanos: UInt64 = 1_000_000_000

    init(paths: KernelPaths) {
        self.paths = paths
        proc = ProcFiles(paths: paths)
    }

    mutating func reset() {
        processes = [:]
        incomplete = nil
        lastFullScanMono = 0
    }

    /// Walks the tree from `root` (already tracked) and returns whether it changed.
    @discardableResult
    mutating func update(root: TrackedProcess, now: UInt64, ticksPerSecond: UInt64) -> Bool {
        var fullScan = now &- lastFullScanMono >= Self.fullScanEveryNanos
        // After a walk that missed processes, every level is re-read until one sees them all.
        if incomplete != nil { fullScan = true }
        if fullScan { lastFullScanMono = now }
        var missing = MissingProcesses()
        var parentMap: [Int32: [Int32]]?
        walk &+= 1
        root.reachedInWalk = walk
        if !fresh.isEmpty { fresh.removeAll(keepingCapacity: true) }
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
                do {
                    if fullScan {
                        if let all = try proc.children(parent.pid) { kids.append(contentsOf: all); found = true } else { found = false }
                    } else if parent === root {
                        found = try parent.held.mainThreadChildren(into: &kids)
                    } else {
                        found = try proc.mainThreadChildren(parent.pid, into: &kids)
                    }
                } catch {
                    // Exited since it was reached (its children are re-parented and read at the
                    // next full read), or out of descriptors: then the tree is incomplete.
                    missing.note(error)
                    found = true
                }
                if !found {
                    // No children files on this kernel: fall back to one /proc scan per tick at most.
                    if parentMap == nil {
                        var map: [Int32: [Int32]] = [:]
                        do {
                            for (pid, ppid) in try proc.parentMap() { map[ppid, default: []].append(pid) }
                        } catch {
                            missing.note(error)
                        }
                        parentMap = map
                    }
                    kids.append(contentsOf: parentMap?[parent.pid] ?? [])
                }
                if parent.knownChildren != kids { parent.knownChildren = kids }
            } else {
                kids.append(contentsOf: parent.knownChildren ?? [])
            }
            for kid in kids {
                let existing = processes[kid]
                if existing?.reachedInWalk == walk || (!fresh.isEmpty && fresh[kid] != nil) { continue }
                let tracked: TrackedProcess
                if let existing, existing.refresh(now: now, ticksPerSecond: ticksPerSecond),
                   readsChildren || existing.stat.ppid == parent.pid {
                    tracked = existing
                } else if readsChildren {
                    do {
                        let new = try TrackedProcess(pid: kid, paths: paths, proc: proc)
                        _ = new.refresh(now: now, ticksPerSecond: ticksPerSecond)
                        tracked = new
                        fresh[kid] = new
                        changed = true
                    } catch {
                        missing.note(error)
                        continue
                    }
                } else {
                    continue // exited (or, between reads, moved) since its parent's children were read
                }
                tracked.reachedInWalk = walk
                queue.append(tracked)
            }
        }
        // Every process reached is either new (then `changed`) or one of `processes`, once each:
        // the same count (and the same root object) means the same set.
        if changed || queue.count != processes.count || processes[root.pid] !== root {
            changed = true
            processes.removeAll(keepingCapacity: true)
            for p in queue { processes[p.pid] = p }
        }
        incomplete = missing.reason
        return changed
    }
}

/// What a walk could not hold for want of file descriptors. A process that exited meanwhile
/// (ENOENT, ESRCH) is not missing: it is gone.
struct MissingProcesses {
    private(set) var count = 0
    private var first: KernelFileError?

    mutating func note(_ error: KernelFileError) {
        guard Self.isOutOfDescriptors(error) else { return }
        count += 1
        if first == nil { first = error }
    }

    var reason: String? {
        guard let first else { return nil }
        return "the process tree is incomplete: \(count) read\(count == 1 ? "" : "s") failed for want of file descriptors (\(first)); raise LimitNOFILE"
    }

    static func isOutOfDescriptors(_ error: KernelFileError) -> Bool {
        switch error.kind {
        case .open(let e), .read(let e): e == EMFILE || e == ENFILE
        default: false
        }
    }
}
