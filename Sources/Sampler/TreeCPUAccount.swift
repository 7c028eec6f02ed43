import Synchronization

/// The DRUM tree's CPU time as a counter that never goes back, for `drum_monitor_tree_cpu_seconds_total`.
///
/// Summing utime + stime over the processes alive now drops what a process used once it exits,
/// so the sum falls whenever gunicorn replaces a worker. The kernel keeps that time, though: a
/// parent that reaps a child adds the child's whole life (its utime + stime and what it reaped
/// in turn) to its own cutime + cstime. So the account adds, each tick, what every process it
/// knows used since its previous reading (own and reaped time), and counts a process seen for
/// the first time (a new worker, a new DRUM) with its whole life so far. A child that exited and
/// was reaped by a process of the tree shows up twice — in what was counted of the child itself
/// and in its parent's reaped time — so the child's last reading is taken off the parent's
/// reaped delta. A process that leaves any other way (re-parented outside the tree) takes at
/// most one interval's CPU with it. Each increment is ≥ 0: the total never goes back, whatever
/// leaves, exits or is replaced.
///
/// Shared by the samplers that feed one history (a reload builds a new sampler): one ticks at a
/// time, so the lock is never contended; it only makes the handover safe.
public final class TreeCPUAccount: Sendable {
    /// One process's CPU counters at one tick, from /proc/PID/stat (clock ticks).
    public struct Reading: Sendable, Equatable {
        public var pid: Int32
        public var ppid: Int32
        /// With the pid, tells this process from a later one that reuses the pid.
        public var startTimeTicks: UInt64
        /// utime + stime.
        public var ownTicks: UInt64
        /// cutime + cstime: children it has reaped.
        public var reapedTicks: UInt64

        public init(pid: Int32, ppid: Int32, startTimeTicks: UInt64, ownTicks: UInt64, reapedTicks: UInt64) {
            self.pid = pid
            self.ppid = ppid
            self.startTimeTicks = startTimeTicks
            self.ownTicks = ownTicks
            self.reapedTicks = reapedTicks
        }
    }

    /// Readings sorted by pid, so that one tick is matched with the previous one by a merge,
    /// without hashing (this runs on every tick).
    private struct State {
        var totalTicks: UInt64 = 0
        var known: [Reading] = []
        /// Reused every tick.
        var next: [Reading] = []
        var departed: [(ppid: Int32, ticks: UInt64)] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// CPU ticks counted so far.
    public var totalTicks: UInt64 { state.withLock { $0.totalTicks } }

    /// Counts one tick of the tree: every process in it, root included, in any order. Returns
    /// the total. A tick without a target is not recorded: should the same processes be found
    /// again, they continue where they were rather than being counted whole a second time.
    @discardableResult
    public func record(_ readings: some Sequence<Reading>) -> UInt64 {
        state.withLock { s in
            s.next.removeAll(keepingCapacity: true)
            s.next.append(contentsOf: readings)
            s.next.sort { $0.pid < $1.pid }
            // One reading per pid: callers pass a set of processes.
            var unique = 0
            for r in s.next.indices where unique == 0 || s.next[unique - 1].pid != s.next[r].pid {
                s.next[unique] = s.next[r]
                unique += 1
            }
            s.next.removeLast(s.next.count - unique)
            // Time already counted of each child that is gone, by the parent that may have reaped it.
            s.departed.removeAll(keepingCapacity: true)
            var cursor = 0
            for before in s.known where Self.sameProcess(as: before, in: s.next, cursor: &cursor) == nil {
                s.departed.append((before.ppid, before.ownTicks &+ before.reapedTicks))
            }
            var added: UInt64 = 0
            cursor = 0
            for now in s.next {
                guard let before = Self.sameProcess(as: now, in: s.known, cursor: &cursor) else {
                    added &+= now.ownTicks &+ now.reapedTicks // first seen: its life so far
                    continue
                }
                let own = now.ownTicks > before.ownTicks ? now.ownTicks - before.ownTicks : 0
                var reaped = now.reapedTicks > before.reapedTicks ? now.reapedTicks - before.reapedTicks : 0
                var countedOfChildren: UInt64 = 0
                for d in s.departed where d.ppid == now.pid { countedOfChildren &+= d.ticks }
                reaped = reaped > countedOfChildren ? reaped - countedOfChildren : 0
                added &+= own &+ reaped
            }
            s.totalTicks &+= added
            swap(&s.known, &s.next)
            return s.totalTicks
        }
    }

    /// The reading in `sorted` (by pid) of the same process as `reading` (pid and start time), if
    /// any. `cursor` only moves forward: called with readings in pid order, one pass is a merge.
    private static func sameProcess(as reading: Reading, in sorted: [Reading], cursor: inout Int) -> Reading? {
        while cursor < sorted.count, sorted[cursor].pid < reading.pid { cursor += 1 }
        guard cursor < sorted.count, sorted[cursor].pid == reading.pid,
              sorted[cursor].startTimeTicks == reading.startTimeTicks else { return nil }
        return sorted[cursor]
    }
}
