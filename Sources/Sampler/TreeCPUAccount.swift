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

    private struct State {
        var totalTicks: UInt64 = 0
        var known: [Int32: Reading] = [:]
        /// Reused every tick.
        var departed: [Int32: UInt64] = [:]
        var next: [Int32: Reading] = [:]
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
            for r in readings { s.next[r.pid] = r }
            // Time already counted of each child that is gone, by the parent that may have reaped it.
            s.departed.removeAll(keepingCapacity: true)
            for (pid, before) in s.known where s.next[pid]?.startTimeTicks != before.startTimeTicks {
                s.departed[before.ppid, default: 0] &+= before.ownTicks &+ before.reapedTicks
            }
            var added: UInt64 = 0
            for (pid, now) in s.next {
                guard let before = s.known[pid], before.startTimeTicks == now.startTimeTicks else {
                    added &+= now.ownTicks &+ now.reapedTicks // first seen: its life so far
                    continue
                }
                let own = now.ownTicks > before.ownTicks ? now.ownTicks - before.ownTicks : 0
                var reaped = now.reapedTicks > before.reapedTicks ? now.reapedTicks - before.reapedTicks : 0
                let countedOfChildren = s.departed[pid] ?? 0
                reaped = reaped > countedOfChildren ? reaped - countedOfChildren : 0
                added &+= own &+ reaped
            }
            s.totalTicks &+= added
            swap(&s.known, &s.next)
            return s.totalTicks
        }
    }
}
