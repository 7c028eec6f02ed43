import Synchronization

/// What the server's bounds are checked against: the most bytes one connection held, received or
/// unsent, and the slow answers built or skipped because their client had left.
final class ServerStatistics: Sendable {
    private let maxPending = Atomic<Int>(0)
    private let maxUnsent = Atomic<Int>(0)
    private let built = Atomic<Int>(0)
    private let abandoned = Atomic<Int>(0)
    private let evicted = Atomic<Int>(0)

    var maxPendingBytes: Int { maxPending.load(ordering: .relaxed) }
    var maxUnsentBytes: Int { maxUnsent.load(ordering: .relaxed) }
    var slowAnswersBuilt: Int { built.load(ordering: .relaxed) }
    var slowAnswersAbandoned: Int { abandoned.load(ordering: .relaxed) }
    var connectionsEvicted: Int { evicted.load(ordering: .relaxed) }

    func notePending(_ bytes: Int) { maxPending.max(bytes, ordering: .relaxed) }
    func noteUnsent(_ bytes: Int) { maxUnsent.max(bytes, ordering: .relaxed) }
    func noteBuilt() { built.add(1, ordering: .relaxed) }
    func noteAbandoned() { abandoned.add(1, ordering: .relaxed) }
    func noteEvicted() { evicted.add(1, ordering: .relaxed) }
}
