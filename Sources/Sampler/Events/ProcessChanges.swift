import SampleModel

/// Which processes of the tree are gone and which are new between two samples, by identity
/// (pid and start time: a reused pid is another process). A process that has exited but is
/// not yet reaped (a zombie) counts as gone.
struct ProcessChanges {
    var gone: [SampleDetail.Process] = []
    var new: [SampleDetail.Process] = []

    var isEmpty: Bool { gone.isEmpty && new.isEmpty }

    struct Key: Hashable {
        var pid: Int32
        var start: UInt64?
        init(_ p: SampleDetail.Process) { pid = p.pid; start = p.startNanos }
    }

    init() {}

    /// `before`: the previous sample's live processes; `after`: this sample's processes.
    init(before: [SampleDetail.Process], after: [SampleDetail.Process]) {
        // The usual tick changes nothing: same processes in the same order, no allocation.
        if Self.sameLiveProcesses(before, after) { return }
        var live = Set<Key>()
        for p in after where !p.exited { live.insert(Key(p)) }
        let known = Set(before.map(Key.init))
        gone = before.filter { !live.contains(Key($0)) }
        new = after.filter { !$0.exited && !known.contains(Key($0)) }
    }

    static func sameLiveProcesses(_ before: [SampleDetail.Process], _ after: [SampleDetail.Process]) -> Bool {
        guard before.count == after.count else { return false }
        for i in before.indices {
            let a = before[i], b = after[i]
            if a.pid != b.pid || a.startNanos != b.startNanos || b.exited { return false }
        }
        return true
    }
}

/// Pairs workers that exited with workers that appeared: the same parent first, then in pid
/// order. What is left over is an exit or a start of its own.
enum WorkerPairing {
    static func pair(exits: [EventProcess], starts: [EventProcess]) -> (pairs: [(EventProcess, EventProcess)], exits: [EventProcess], starts: [EventProcess]) {
        var starts = starts
        var leftExits: [EventProcess] = []
        var pairs: [(EventProcess, EventProcess)] = []
        for exit in exits {
            guard exit.role == .worker else { leftExits.append(exit); continue }
            let match = starts.firstIndex { $0.role == .worker && $0.ppid == exit.ppid }
                ?? starts.firstIndex { $0.role == .worker }
            if let match { pairs.append((exit, starts.remove(at: match))) } else { leftExits.append(exit) }
        }
        return (pairs, leftExits, starts)
    }
}
