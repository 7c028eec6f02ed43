import Testing
@testable import History
import TestSupport
import SampleModel

/// The store and its windows against a naive model: a plain array of everything appended,
/// filtered and scanned for every window. Random appends (values with ties, gaps, values the
/// store cannot keep, late ticks, wall-clock steps both ways, restarts) and random windows of
/// every kind: suffixes, ranges anywhere (before the oldest sample, after the newest, empty,
/// across the ring's wrap), at capacities from 1 up.
@Suite struct StoreModelTests {
    struct Held {
        var sample: Sample
        /// First sample after a restart that left a gap.
        var gap: Bool
    }

    struct Model {
        var all: [Held] = []
        let capacity: Int
        let interval: UInt64

        var held: ArraySlice<Held> { all.suffix(capacity) }

        /// Runs: held samples split where the wall clock went back.
        var runs: [ArraySlice<Held>] {
            let held = self.held
            var runs: [ArraySlice<Held>] = []
            var start = held.startIndex
            for i in held.indices.dropFirst() where held[i].sample.wallNanos < held[i - 1].sample.wallNanos {
                runs.append(held[start..<i])
                start = i
            }
            if start < held.endIndex { runs.append(held[start...]) }
            return runs
        }

        func window(_ spec: WindowSpec) -> (samples: [Held], covered: Bool) {
            let held = self.held
            guard let newest = held.last else { return ([], false) }
            let i = Int64(interval)
            switch spec {
            case .samples(let n):
                return (Array(held.suffix(n)), n <= held.count)
            case .seconds(let s):
                let span = UInt64(s * 1e9)
                let start = newest.sample.monoNanos > span ? newest.sample.monoNanos - span : 0
                let inside = held.filter { $0.sample.monoNanos > start }
                guard let a = inside.first else { return ([], false) }
                let ai = held.firstIndex { $0.sample.sequence == a.sample.sequence }!
                let startHeld = a.sample.monoNanos - min(interval, a.sample.monoNanos) <= start || (ai > held.startIndex && !a.gap)
                return (inside, startHeld && !inside.dropFirst().contains { $0.gap })
            case .range(let t1, let t2):
                var all: [Held] = []
                var covered = false
                for run in runs {
                    // A sample stands for the time since the one before it in its run; the
                    // first for (t − interval, t]; one after a gap for at most that; where the
                    // wall clock moved more than the timeline (by over half an interval) for the
                    // timeline's length.
                    func start(_ j: Int) -> Int64 {
                        let s = run[j].sample
                        guard j > run.startIndex else { return s.wallNanos - i }
                        let p = run[j - 1].sample
                        let reach = run[j].gap ? i : Int64(s.monoNanos - p.monoNanos) + i / 2
                        return max(p.wallNanos, s.wallNanos - reach)
                    }
                    let matched = run.indices.filter { run[$0].sample.wallNanos > t1 && start($0) < t2 }
                    guard let a = matched.first, let b = matched.last else { continue }
                    all += matched.map { run[$0] }
                    let startHeld = run[a].sample.wallNanos - i <= t1 || (a > run.startIndex && !run[a].gap)
                    let endHeld = run[b].sample.wallNanos >= t2 || (b < run.endIndex - 1 && !run[b + 1].gap)
                    if startHeld, endHeld, !run[(a + 1)..<(b + 1)].contains(where: \.gap) { covered = true }
                }
                return (all.sorted { $0.sample.sequence < $1.sample.sequence }, covered)
            }
        }
    }

    /// Values with repeats (ties), absences, values the store cannot keep, and both kinds of
    /// metric. One in `peakEvery` is a peak, equal to every other peak of its metric: rare peaks
    /// make the newest-occurrence rule matter at every level of the tables.
    static func randomValues(_ rng: inout some RandomNumberGenerator, peakEvery: Int = 12) -> MetricValues {
        var v = MetricValues()
        for m in Metric.allCases {
            let whole: Double
            if Int.random(in: 0..<peakEvery, using: &rng) == 0 {
                v[m] = m.isInteger ? Double(MetricCodec.limit - 1) : 100 // the largest integer kept; a big fraction
                continue
            } else {
                switch Int.random(in: 0..<11, using: &rng) {
                case 0: v[m] = nil; continue
                case 1: whole = 7 // frequent ties
                case 2: whole = -1 // cannot be kept: absent
                default: whole = Double(Int.random(in: 0...2000, using: &rng))
                }
            }
            v[m] = m.isInteger ? whole : whole / 1000 + Double(Int.random(in: 0..<1000, using: &rng)) / 1e9
        }
        return v
    }

    /// What the store keeps of a value: the same number, or absent.
    static func kept(_ values: MetricValues) -> MetricValues {
        var out = MetricValues()
        for m in Metric.allCases {
            guard let v = values[m], let units = MetricCodec(m).encode(v) else { continue }
            out[m] = MetricCodec(m).decode(units)
        }
        return out
    }

    /// Compares one window with the model; one expectation per window (Testing's are not free).
    func check(_ store: SampleStore, _ model: Model, _ spec: WindowSpec, _ context: String) {
        let got = store.window(spec)
        let (expected, covered) = model.window(spec)
        var wrong: [String] = []
        func differ<T: Equatable>(_ what: String, _ a: T, _ b: T) { if a != b { wrong.append("\(what): got \(a), model \(b)") } }
        differ("samples", got.sampleCount, expected.count)
        differ("covered", got.covered, covered)
        differ("from_sequence", got.fromSequence, expected.first?.sample.sequence)
        differ("to_sequence", got.toSequence, expected.last?.sample.sequence)
        // The model's statistics in one pass (debug builds are slow at anything cleverer).
        struct Naive { var max = -Double.infinity, maxSequence: UInt64 = 0, maxWall: Int64 = 0, min = Double.infinity, sum = 0.0, count = 0 }
        var naive = [Naive](repeating: Naive(), count: Metric.count)
        for h in expected {
            let storage = h.sample.values.storage
            for m in 0..<Metric.count where !storage[m].isNaN {
                let v = storage[m]
                if v >= naive[m].max { naive[m].max = v; naive[m].maxSequence = h.sample.sequence; naive[m].maxWall = h.sample.wallNanos }
                if v < naive[m].min { naive[m].min = v }
                naive[m].sum += v
                naive[m].count += 1
            }
        }
        for m in Metric.allCases {
            let n = naive[m.rawValue]
            guard n.count > 0 else {
                if got[m] != nil { wrong.append("\(m) has no values but got \(got[m]!)") }
                continue
            }
            guard let stats = got[m] else {
                wrong.append("\(m) missing")
                continue
            }
            differ("\(m) max", stats.max, n.max)
            differ("\(m) max_sequence (newest occurrence)", stats.maxSequence, n.maxSequence)
            differ("\(m) max_time", stats.maxWallNanos, n.maxWall)
            differ("\(m) min", stats.min, n.min)
            differ("\(m) count", stats.count, n.count)
            differ("\(m) last", stats.last, expected.last?.sample.values[m])
            let average = n.sum / Double(n.count)
            if abs(stats.average - average) > 1e-9 * max(1, abs(average)) { wrong.append("\(m) average: got \(stats.average), model \(average)") }
        }
        #expect(wrong.isEmpty, "\(spec) \(context): \(wrong.joined(separator: "; "))")
    }

    /// A random window: suffixes of any length, ranges anywhere around the held span.
    static func randomSpec(_ model: Model, _ rng: inout some RandomNumberGenerator) -> WindowSpec {
        let held = model.held
        let interval = Int64(model.interval)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return .samples(Int.random(in: 1...(model.capacity + 5), using: &rng))
        case 1: return .seconds(Double(Int.random(in: 1...(model.capacity + 10), using: &rng)) * Double(model.interval) / 1e9 + 0.5)
        default:
            let walls = held.map(\.sample.wallNanos)
            let lo = (walls.min() ?? 0) - 3 * interval, hi = (walls.max() ?? 0) + 3 * interval
            var a = Int64.random(in: lo...hi, using: &rng)
            var b = Int.random(in: 0..<4, using: &rng) == 0 ? a : Int64.random(in: lo...hi, using: &rng)
            // Often exactly on a sample's time or its interval's start.
            if Bool.random(using: &rng), let w = walls.randomElement(using: &rng) { a = w - (Bool.random(using: &rng) ? interval : 0) }
            if a > b { swap(&a, &b) }
            return .range(fromWallNanos: a, toWallNanos: b)
        }
    }

    /// Capacities around the store's units (blocks of 8, groups of 128, supergroups of 2048;
    /// 9000 holds four supergroups, so windows use the sparse table over them).
    @Test(arguments: [(1, 12), (2, 12), (3, 12), (7, 12), (8, 12), (9, 12), (127, 12), (129, 12), (300, 12), (2100, 12),
                      (9000, 12), (300, 500), (9000, 5000), (20000, 20000)])
    func randomAppendsAndWindowsMatchTheModel(capacity: Int, peakEvery: Int) throws {
        var rng = SeededRandom(for: "StoreModelTests/randomAppendsAndWindowsMatchTheModel", instance: "capacity \(capacity), peaks 1/\(peakEvery)")
        let interval: UInt64 = 1_000_000_000
        let store = try SampleStore.inMemory(capacity: capacity, intervalNanos: interval)
        var model = Model(capacity: capacity, interval: interval)
        var mono: UInt64 = 5_000_000_000
        var wall: Int64 = 1_700_000_000_000_000_000
        let appends = capacity * 2 + Int.random(in: 0...50, using: &rng) + (capacity > 1000 ? 0 : 4200)
        // Fewer windows where each costs the model more.
        let checkEvery = max(1, appends / (capacity > 1000 ? 25 : 150))
        for seq in 1...appends {
            var step = interval + UInt64.random(in: 0...200_000_000, using: &rng)
            if Int.random(in: 0..<20, using: &rng) == 0 { step += 3 * interval } // late ticks
            var restart = false
            if Int.random(in: 0..<150, using: &rng) == 0 {
                restart = true
                step += UInt64.random(in: 0...(5 * interval), using: &rng) // a restart: a gap, or none
            }
            mono += step
            wall += Int64(step)
            if Int.random(in: 0..<100, using: &rng) == 0 {
                // The wall clock steps, either way, by up to an hour.
                wall += Int64.random(in: -3_600_000_000_000...3_600_000_000_000, using: &rng)
            }
            let values = Self.randomValues(&rng, peakEvery: peakEvery)
            let sample = Sample(sequence: UInt64(seq), wallNanos: wall, monoNanos: mono, generation: 1, values: values)
            store.restartPending = restart
            let gap = restart && !model.all.isEmpty && step > interval
            #expect(store.append(sample))
            model.all.append(Held(sample: Sample(sequence: sample.sequence, wallNanos: wall, monoNanos: mono, generation: 1,
                                                 values: Self.kept(values)), gap: gap))
            if seq % checkEvery == 0 || seq == appends {
                for _ in 0..<4 { check(store, model, Self.randomSpec(model, &rng), "after \(seq) appends") }
                check(store, model, .samples(capacity), "after \(seq) appends")
            }
        }
        #expect(store.count == capacity)
        let copied = store.samples(after: 0, limit: capacity).samples
        #expect(copied.map(\.sequence) == model.held.map(\.sample.sequence))
        #expect(copied.map(\.values) == model.held.map(\.sample.values))
    }

    @Test func emptyStoreAnswersEmptyWindows() throws {
        let store = try SampleStore.inMemory(capacity: 4, intervalNanos: 1)
        for spec in [WindowSpec.seconds(10), .samples(3), .range(fromWallNanos: 0, toWallNanos: 10)] {
            let w = store.window(spec)
            #expect(w.sampleCount == 0 && !w.covered && w.stats.allSatisfy { $0 == nil })
        }
        #expect(store.samples(after: 0, limit: 10).samples.isEmpty)
    }

    @Test func samplesAfterASequence() throws {
        let store = try SampleStore.inMemory(capacity: 5, intervalNanos: 1)
        for seq in 1...12 { store.append(Sample(sequence: UInt64(seq), wallNanos: 0, monoNanos: UInt64(seq), generation: 1)) }
        #expect(store.samples(after: 9, limit: 10).samples.map(\.sequence) == [10, 11, 12])
        #expect(store.samples(after: 8, limit: 2).samples.map(\.sequence) == [9, 10])
        let old = store.samples(after: 3, limit: 10)
        #expect(old.samples.map(\.sequence) == [8, 9, 10, 11, 12])
        #expect(old.truncated, "samples 4…7 were dropped")
        #expect(store.samples(after: 12, limit: 10).samples.isEmpty)
        #expect(!store.samples(after: 7, limit: 10).truncated)
    }

    @Test func aSequenceThatDoesNotFollowIsRefused() throws {
        let store = try SampleStore.inMemory(capacity: 5, intervalNanos: 1)
        #expect(store.append(Sample(sequence: 5, wallNanos: 0, monoNanos: 1, generation: 1)))
        #expect(!store.append(Sample(sequence: 5, wallNanos: 0, monoNanos: 2, generation: 1)))
        #expect(!store.append(Sample(sequence: 4, wallNanos: 0, monoNanos: 3, generation: 1)))
        #expect(store.count == 1 && store.outOfOrder == 2)
    }

    /// Exact integers up to 2^48 − 1 come back as the same number: bytes are never rounded.
    @Test func bytesAreKeptExactly() throws {
        let store = try SampleStore.inMemory(capacity: 3, intervalNanos: 1)
        let values: [Double] = [17_179_869_184, 281_474_976_710_655, 4095]
        for (k, bytes) in values.enumerated() {
            var v = MetricValues()
            v[.memoryLimit] = bytes
            v[.treeCPU] = 0.123456789
            store.append(Sample(sequence: UInt64(k + 1), wallNanos: Int64(k), monoNanos: UInt64(k + 1), generation: 1, values: v))
        }
        #expect(store.samples(after: 0, limit: 3).samples.map { $0.values[.memoryLimit] } == values)
        let w = store.window(.samples(3))
        #expect(w[.memoryLimit]?.max == 281_474_976_710_655)
        #expect(w[.memoryLimit]?.min == 4095)
        #expect(w[.treeCPU]?.max == 0.123456789)
        #expect(w[.memoryLimit]?.average == (17_179_869_184.0 + 281_474_976_710_655.0 + 4095.0) / 3)
    }

    /// A value the store cannot keep is absent, and counted, never another number.
    @Test func valuesThatCannotBeKeptAreAbsentAndCounted() throws {
        let store = try SampleStore.inMemory(capacity: 3, intervalNanos: 1)
        var v = MetricValues()
        v[.memoryCurrent] = 281_474_976_710_656 // 2^48
        v[.treeCPU] = -0.5
        v[.processCount] = 2.5
        store.append(Sample(sequence: 1, wallNanos: 0, monoNanos: 1, generation: 1, values: v))
        let kept = store.samples(after: 0, limit: 1).samples[0].values
        #expect(kept[.memoryCurrent] == nil && kept[.treeCPU] == nil && kept[.processCount] == nil)
        #expect(store.unrepresentable[Metric.memoryCurrent.rawValue] == 1)
        #expect(store.unrepresentable[Metric.treeCPU.rawValue] == 1)
        #expect(store.unrepresentable[Metric.processCount.rawValue] == 1)
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
        history.reconfigure(capacity: 9000, intervalNanos: 2)
        #expect(history.count == 4 && history.capacity == 9000 && history.intervalNanos == 2)
        #expect(history.samples(after: 0, limit: 10).samples.map(\.sequence) == [7, 8, 9, 10])
    }
}
