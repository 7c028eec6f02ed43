import Testing
import Sampler

/// The tree's CPU counter from synthetic /proc readings: what gunicorn does to its workers.
@Suite struct TreeCPUAccountTests {
    typealias R = TreeCPUAccount.Reading
    static let master: Int32 = 100

    static func p(_ pid: Int32, parent: Int32 = master, start: UInt64 = 1, own: UInt64, reaped: UInt64 = 0) -> R {
        R(pid: pid, ppid: parent, startTimeTicks: start, ownTicks: own, reapedTicks: reaped)
    }

    @Test func firstSightCountsEachProcessWholeLifeIncludingWhatItReaped() {
        let account = TreeCPUAccount()
        #expect(account.record([Self.p(100, parent: 1, own: 50, reaped: 30), Self.p(101, own: 20)]) == 100)
    }

    @Test func countsWhatEachProcessUsedSinceItsLastReading() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 50), Self.p(101, own: 20)])
        #expect(account.record([Self.p(100, parent: 1, own: 55), Self.p(101, own: 120)]) == 70 + 105)
    }

    /// A worker exits and the master reaps it: its last reading was counted as the worker's,
    /// the rest of its life arrives in the master's cutime — counted once, not twice.
    @Test func aReapedWorkerIsCountedOnceAndTheTotalDoesNotGoBack() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 50), Self.p(101, own: 500), Self.p(102, own: 10)])
        // 101 used 10 more ticks after its last reading, exited and was reaped (510 in cutime).
        let total = account.record([Self.p(100, parent: 1, own: 50, reaped: 510), Self.p(102, own: 10)])
        #expect(total == 560 + 10)
        // Its replacement starts from nothing and is counted from its first reading.
        #expect(account.record([Self.p(100, parent: 1, own: 50, reaped: 510), Self.p(102, own: 10), Self.p(103, own: 3)]) == 573)
    }

    @Test func aZombieIsCountedUntilItIsReaped() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 0), Self.p(101, own: 100)])
        #expect(account.record([Self.p(100, parent: 1, own: 0), Self.p(101, own: 130)]) == 130) // exited, not reaped
        #expect(account.record([Self.p(100, parent: 1, own: 0, reaped: 130)]) == 130)
    }

    /// A process that leaves without being reaped by the tree (re-parented to init): the parent's
    /// reaped time does not move and nothing is taken off it; nothing goes back.
    @Test func aProcessThatLeavesOtherwiseTakesNothingWithIt() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 10), Self.p(101, own: 40), Self.p(200, parent: 101, own: 7)])
        // 101 exits and is reaped by the master; 200 is re-parented outside the tree.
        let total = account.record([Self.p(100, parent: 1, own: 10, reaped: 45)])
        #expect(total == 57 + 5)
    }

    /// The kernel never lowers these counters, but a garbled reading must not turn into a huge
    /// unsigned delta, nor lower the total.
    @Test func countersThatGoBackAddNothing() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 80, reaped: 20)])
        #expect(account.record([Self.p(100, parent: 1, own: 70, reaped: 10)]) == 100)
        #expect(account.record([Self.p(100, parent: 1, own: 75, reaped: 10)]) == 105)
    }

    @Test func aReusedPidIsANewProcess() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 10), Self.p(101, start: 5, own: 300)])
        // 101 exited and was reaped (300 + 2); a new process got pid 101 and has used 4 ticks.
        let total = account.record([Self.p(100, parent: 1, own: 10, reaped: 302), Self.p(101, start: 9, own: 4)])
        #expect(total == 310 + 2 + 4)
    }

    /// DRUM restarts: the old tree's processes are gone (nobody in the new tree reaped them), the
    /// new ones are counted whole; no target in between records nothing.
    @Test func aNewDrumAddsItsWholeLifeAndTheOldOneKeepsWhatItUsed() {
        let account = TreeCPUAccount()
        account.record([Self.p(100, parent: 1, own: 1000), Self.p(101, own: 2000)])
        #expect(account.record([TreeCPUAccount.Reading]()) == 3000)
        #expect(account.record([Self.p(300, parent: 1, start: 50, own: 120), Self.p(301, parent: 300, start: 51, own: 1)]) == 3121)
    }

    /// Readings in any order: parents after children, or children listed before their parents.
    @Test func orderDoesNotMatter() {
        let a = TreeCPUAccount(), b = TreeCPUAccount()
        let first = [Self.p(100, parent: 1, own: 10), Self.p(101, own: 40), Self.p(102, parent: 101, own: 3)]
        let second = [Self.p(101, own: 44, reaped: 5), Self.p(100, parent: 1, own: 12)]
        a.record(first); b.record(first.reversed())
        #expect(a.record(second) == b.record(second.reversed()))
        #expect(a.totalTicks == 10 + 40 + 3 + 2 + 4 + 2)
    }

    /// The readings are matched by pid whatever their order; a pid given twice counts once, as
    /// it did when they were kept in a dictionary.
    @Test func orderDoesNotMatterAndAPidCountsOnce() {
        let ticks: [[R]] = [
            [Self.p(100, parent: 1, own: 50), Self.p(101, own: 20), Self.p(102, own: 5)],
            [Self.p(102, own: 9), Self.p(100, parent: 1, own: 60, reaped: 20), Self.p(103, own: 1)],
            [Self.p(103, own: 4), Self.p(100, parent: 1, own: 61, reaped: 21)],
        ]
        let inOrder = TreeCPUAccount(), reversed = TreeCPUAccount(), doubled = TreeCPUAccount()
        for t in ticks {
            let a = inOrder.record(t)
            #expect(reversed.record(t.reversed()) == a)
            #expect(doubled.record([t[0]] + t) == a)
        }
        // 75 at first; then 10 + (20 reaped − 20 counted of 101) + 4 + 1; then 1 + max(1 − 9, 0) + 3.
        #expect(inOrder.totalTicks == 75 + 15 + 4)
    }
}
