import Testing
@testable import History
import SampleModel

/// The wall clock steps (NTP, an operator) while sampling; the samples' times come from a
/// clock the test sets. Sequences and the timeline order the history; wall-clock ranges are
/// resolved in each run of non-decreasing wall time (issue 15 requirement 4).
@Suite struct WallClockStepTests {
    static let second: Int64 = 1_000_000_000
    static let t0: Int64 = 1_750_000_000 * second

    /// Samples 1…n taken one second apart on the timeline; `wall(seq)` is the clock's reading.
    func history(_ n: Int, wall: (Int) -> Int64) -> History {
        let history = History(capacity: 1000, intervalNanos: UInt64(Self.second))
        for seq in 1...n {
            var v = MetricValues()
            v[.memoryCurrent] = Double(seq * 1000)
            history.append(Sample(sequence: UInt64(seq), wallNanos: wall(seq), monoNanos: UInt64(seq) * UInt64(Self.second), generation: 1,
                                  values: v), detail: Samples.detail)
        }
        return history
    }

    /// Back 5 s after sample 10 (taken at 110 s; sample 11 reads 106 s): the seconds up to 108
    /// happened twice, and a range over them holds the samples of both passes — a sample at t
    /// stands for (t − 1 s, t], so [106 s, 108 s] holds the samples read at 107 and 108 s:
    /// 7, 8 in the first pass, 12, 13 in the second.
    @Test func aBackwardStepHoldsBothPasses() {
        let h = history(20) { seq in Self.t0 + Int64(seq <= 10 ? 100 + seq : 95 + seq) * Self.second }
        let w = h.window(.range(fromWallNanos: Self.t0 + 106 * Self.second, toWallNanos: Self.t0 + 108 * Self.second))
        #expect(w.sampleCount == 4)
        #expect(w.fromSequence == 7 && w.toSequence == 13)
        #expect(w[.memoryCurrent]?.max == 13000 && w[.memoryCurrent]?.maxSequence == 13)
        #expect(w[.memoryCurrent]?.min == 7000)
        #expect(w[.memoryCurrent]?.average == 10000)
        #expect(w[.memoryCurrent]?.count == 4)
        #expect(w.covered)
        // Windows on the timeline do not see the step.
        #expect(h.window(.seconds(10)).fromSequence == 11)
        // Before the step only: the first pass.
        let early = h.window(.range(fromWallNanos: Self.t0 + 101 * Self.second, toWallNanos: Self.t0 + 104 * Self.second))
        #expect(early.fromSequence == 2 && early.toSequence == 4 && early.sampleCount == 3)
    }

    /// Forward an hour after sample 10: the hour skipped holds no sample; a range across the
    /// step holds the samples on both sides, taken one second apart.
    @Test func aForwardStepSkipsTheHour() {
        let h = history(20) { seq in Self.t0 + Int64(seq <= 10 ? 100 + seq : 3700 + seq) * Self.second }
        let skipped = h.window(.range(fromWallNanos: Self.t0 + 1000 * Self.second, toWallNanos: Self.t0 + 2000 * Self.second))
        #expect(skipped.sampleCount == 0 && !skipped.covered)
        let across = h.window(.range(fromWallNanos: Self.t0 + 105 * Self.second, toWallNanos: Self.t0 + 3713 * Self.second))
        #expect(across.fromSequence == 6 && across.toSequence == 13 && across.sampleCount == 8)
        #expect(across.covered)
        #expect(h.window(.seconds(10)).fromSequence == 11)
    }

    /// The monotonic clock of the samples going back (it cannot within a boot) never makes the
    /// timeline go back.
    @Test func theTimelineNeverGoesBack() throws {
        let store = try SampleStore.inMemory(capacity: 10, intervalNanos: UInt64(Self.second))
        for (seq, mono) in [(1, 50), (2, 51), (3, 20), (4, 21)] {
            store.append(Sample(sequence: UInt64(seq), wallNanos: Self.t0, monoNanos: UInt64(mono) * UInt64(Self.second), generation: 1))
        }
        let times = store.samples(after: 0, limit: 10).samples.map { $0.monoNanos / UInt64(Self.second) }
        #expect(times == [50, 51, 51, 52])
    }
}
