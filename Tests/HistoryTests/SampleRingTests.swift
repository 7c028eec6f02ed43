import Testing
@testable import History
import SampleModel
import TestSupport

/// The ring and its windows against a naive model: a plain array of everything appended, scanned.
@Suite struct SampleRingTests {
    struct Model {
        var all: [Sample] = []
        let capacity: Int
        let intervalNanos: UInt64

        var held: ArraySlice<Sample> { all.suffix(capacity) }

        func window(_ spec: WindowSpec) -> (samples: ArraySlice<Sample>, covered: Bool) {
            let held = self.held
            guard let newest = held.last else { return ([], false) }
            switch spec {
            case .samples(let n):
                return (held.suffix(n), n <= held.count)
            case .seconds(let s):
                let span = UInt64(s * 1e9)
                let start = newest.monoNanos > span ? newest.monoNanos - span : 0
                let inside = held.filter { $0.monoNanos > start }
                let oldest = held.first!.monoNanos
                return (inside[...], (oldest > intervalNanos ? oldest - intervalNanos : 0) <= start)
            }
        }
    }

    /// Values with repeats (ties for the max), gaps (NaN) and negatives.
    static func randomValues(_ rng: inout some RandomNumberGenerator) -> MetricValues {
        var v = MetricValues()
        for m in Metric.allCases {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: v[m] = nil
            case 1: v[m] = 7 // frequent ties
            default: v[m] = Double(Int.random(in: -50...1000, using: &rng))
            }
        }
        return v
    }

    func check(_ ring: SampleRing, _ model: Model, _ spec: WindowSpec) {
        let got = ring.window(spec)
        let (expected, covered) = model.window(spec)
        #expect(got.sampleCount == expected.count, "\(spec)")
        #expect(got.covered == covered, "\(spec) covered")
        #expect(got.fromSequence == expected.first?.sequence)
        #expect(got.toSequence == expected.last?.sequence)
        for m in Metric.allCases {
            let present = expected.compactMap { s in s.values[m].map { (s, $0) } }
            guard let maxValue = present.map(\.1).max() else {
                #expect(got[m] == nil, "\(m) has no values in \(spec)")
                continue
            }
            guard let stats = got[m] else {
                Issue.record("\(m) missing for \(spec)")
                continue
            }
            let newestMax = present.last { $0.1 == maxValue }!.0
            #expect(stats.max == maxValue)
            #expect(stats.maxSequence == newestMax.sequence, "\(m) newest occurrence of the max")
            #expect(stats.maxWallNanos == newestMax.wallNanos)
            #expect(stats.min == present.map(\.1).min())
            #expect(stats.count == present.count)
            let sum = present.map(\.1).reduce(0, +)
            #expect(abs(stats.average - sum / Double(present.count)) < 1e-9)
            #expect(stats.last == expected.last?.values[m])
        }
    }

    @Test(arguments: [1, 2, 3, 31, 32, 33, 64, 100, 257])
    func randomAppendsAndWindowsMatchTheModel(capacity: Int) {
        var rng = SeededRandom(for: "SampleRingTests.randomAppendsAndWindowsMatchTheModel", instance: "capacity \(capacity)")
        let interval: UInt64 = 1_000_000_000
        var ring = SampleRing(capacity: capacity, intervalNanos: interval)
        var model = Model(capacity: capacity, intervalNanos: interval)
        var mono: UInt64 = 5_000_000_000
        let appends = capacity * 3 + Int.random(in: 0...50, using: &rng)
        for seq in 1...appends {
            // Jittered and occasionally late ticks.
            mono += interval + UInt64.random(in: 0...200_000_000, using: &rng) + (Int.random(in: 0..<20, using: &rng) == 0 ? 3 * interval : 0)
            let sample = Sample(sequence: UInt64(seq), wallNanos: Int64(mono) + 1_700_000_000_000_000_000, monoNanos: mono,
                                generation: 1, values: Self.randomValues(&rng))
            ring.append(sample)
            model.all.append(sample)
            if Int.random(in: 0..<3, using: &rng) == 0 || seq == appends {
                check(ring, model, .samples(Int.random(in: 1...(capacity + 5), using: &rng)))
                check(ring, model, .seconds(Double(Int.random(in: 1...(capacity + 10), using: &rng)) + 0.5))
                check(ring, model, .samples(capacity))
            }
        }
        #expect(ring.count == capacity)
    }

    @Test func emptyRingAnswersEmptyWindows() {
        let ring = SampleRing(capacity: 4, intervalNanos: 1)
        let w = ring.window(.seconds(10))
        #expect(w.sampleCount == 0 && !w.covered && w.stats.allSatisfy { $0 == nil })
        #expect(ring.samples(after: 0, limit: 10).samples.isEmpty)
    }

    @Test func samplesAfterASequence() {
        var ring = SampleRing(capacity: 5, intervalNanos: 1)
        for seq in 1...12 { ring.append(Sample(sequence: UInt64(seq), wallNanos: 0, monoNanos: UInt64(seq), generation: 1)) }
        #expect(ring.samples(after: 9, limit: 10).samples.map(\.sequence) == [10, 11, 12])
        #expect(ring.samples(after: 8, limit: 2).samples.map(\.sequence) == [9, 10])
        let old = ring.samples(after: 3, limit: 10)
        #expect(old.samples.map(\.sequence) == [8, 9, 10, 11, 12])
        #expect(old.truncated, "samples 4…7 were dropped")
        #expect(ring.samples(after: 12, limit: 10).samples.isEmpty)
        #expect(!ring.samples(after: 7, limit: 10).truncated)
    }

    @Test func historyReconfigureKeepsTheNewestSamples() {
        let history = History(capacity: 10, intervalNanos: 1)
        for seq in 1...10 {
            var v = MetricValues()
            v[.memoryCurrent] = Double(seq)
            let s = Sample(sequence: UInt64(seq), wallNanos: 0, monoNanos: UInt64(seq), generation: 1, values: v)
            history.append(s, detail: SampleDetail(target: .init(found: false, generation: 0, processCount: 0)))
        }
        history.reconfigure(capacity: 4, intervalNanos: 1)
        #expect(history.count == 4)
        #expect(history.window(.samples(100))[.memoryCurrent]?.min == 7)
        #expect(history.latest?.sample.sequence == 10)
    }
}
