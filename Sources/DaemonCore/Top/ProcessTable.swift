/// The process table's rows: the snapshot's processes, those that appeared marked new and those
/// that vanished kept (with their last figures) and marked gone, each for `markedSamples` new
/// samples after the one that showed the change.
struct ProcessTable: Sendable, Equatable {
    enum Mark: Sendable, Equatable { case none, new, gone }

    struct Row: Sendable, Equatable {
        var pid: Int
        var role: String
        var rssBytes: Double?
        var cpuCores: Double?
        var cmdline: String
        var mark: Mark
    }

    static let markedSamples = 3

    private(set) var rows: [Row] = []
    /// pid → samples left to show its mark.
    private var marks: [Int: (mark: Mark, left: Int)] = [:]
    private var lastSequence: Int?

    static func == (a: ProcessTable, b: ProcessTable) -> Bool { a.rows == b.rows && a.lastSequence == b.lastSequence }

    /// Takes a new snapshot (the same sequence again changes nothing). The first one marks nothing.
    mutating func update(_ s: SnapshotDocument) {
        guard s.sequence != lastSequence else { return }
        let isFirst = lastSequence == nil
        lastSequence = s.sequence
        var left: [Int: (mark: Mark, left: Int)] = [:]
        for (pid, m) in marks where m.left > 1 { left[pid] = (m.mark, m.left - 1) }
        let live = Set(s.processes.map(\.pid))
        var gone: [Row] = []
        for row in rows where !live.contains(row.pid) {
            if row.mark != .gone { left[row.pid] = (.gone, Self.markedSamples) }
            if left[row.pid]?.mark == .gone { gone.append(row) }
        }
        if !isFirst {
            let known = Set(rows.filter { $0.mark != .gone }.map(\.pid))
            for p in s.processes where !known.contains(p.pid) { left[p.pid] = (.new, Self.markedSamples) }
        }
        // A pid back from the dead is live again.
        for pid in live where left[pid]?.mark == .gone { left[pid] = nil }
        marks = left
        rows = s.processes.map { p in
            Row(pid: p.pid, role: p.role, rssBytes: p.rss_bytes, cpuCores: p.cpu_cores, cmdline: p.cmdline,
                mark: left[p.pid]?.mark == .new ? .new : .none)
        } + gone.map { var r = $0; r.mark = .gone; r.cpuCores = nil; return r }
    }

    /// Forgets everything (another daemon, another history).
    mutating func reset() { self = ProcessTable() }
}

/// The orders of the process table, in the order `s` cycles through them.
enum ProcessSort: String, CaseIterable, Sendable {
    /// As the daemon lists them: the root first, then by pid.
    case pid
    case rss
    case cpu

    var next: ProcessSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    func sorted(_ rows: [ProcessTable.Row]) -> [ProcessTable.Row] {
        // Stable: ties keep the daemon's order.
        let indexed = Array(rows.enumerated())
        let byKey: [(offset: Int, element: ProcessTable.Row)]
        switch self {
        case .pid: return rows
        case .rss: byKey = indexed.sorted { Self.descending($0.element.rssBytes, $1.element.rssBytes, $0.offset, $1.offset) }
        case .cpu: byKey = indexed.sorted { Self.descending($0.element.cpuCores, $1.element.cpuCores, $0.offset, $1.offset) }
        }
        return byKey.map(\.element)
    }

    /// Larger first, missing values last, then the original order.
    private static func descending(_ a: Double?, _ b: Double?, _ ia: Int, _ ib: Int) -> Bool {
        switch (a, b) {
        case let (x?, y?) where x != y: return x > y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return ia < ib
        }
    }
}
