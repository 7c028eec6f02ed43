// The ring this store replaced (drum-monitor 0aed54c, Sources/History/SampleRing.swift and
// SuffixExtremes.swift), kept here only as the baseline for the append-cost row: "appending costs
// no more than today" is measured against it in the same run. Not used by the daemon.
import SampleModel

struct LegacyRing {
    let capacity: Int
    /// The nominal interval: a sample at time t stands for (t − interval, t].
    let intervalNanos: UInt64
    /// Samples ever appended; the newest is at logical index `appended - 1`.
    private(set) var appended: Int = 0

    private var sequences: [UInt64]
    private var wall: [Int64]
    private var mono: [UInt64]
    private var generations: [UInt32]
    /// Slot-major, values[slot * Metric.count + metric] (one sample's values share cache lines,
    /// so an append touches few); NaN = absent.
    private var values: [Double]
    /// Running sum and count of present values up to and including each sample, in a ring one
    /// longer than the samples' (so the entry just before the oldest held sample survives). A
    /// window's sum is the difference of two entries; counts use wrapping arithmetic.
    private var sums: [Double]
    private var counts: [UInt32]
    private var maxima: [LegacySuffixExtremes]
    private var minima: [LegacySuffixExtremes]

    init(capacity: Int, intervalNanos: UInt64) {
        precondition(capacity >= 1 && capacity < Int(UInt32.max), "ring capacity out of range")
        self.capacity = capacity
        self.intervalNanos = intervalNanos
        sequences = [UInt64](repeating: 0, count: capacity)
        wall = [Int64](repeating: 0, count: capacity)
        mono = [UInt64](repeating: 0, count: capacity)
        generations = [UInt32](repeating: 0, count: capacity)
        values = [Double](repeating: .nan, count: capacity * Metric.count)
        sums = [Double](repeating: 0, count: (capacity + 1) * Metric.count)
        counts = [UInt32](repeating: 0, count: (capacity + 1) * Metric.count)
        maxima = [LegacySuffixExtremes](repeating: LegacySuffixExtremes(capacity: capacity, maxima: true), count: Metric.count)
        minima = [LegacySuffixExtremes](repeating: LegacySuffixExtremes(capacity: capacity, maxima: false), count: Metric.count)
    }

    var count: Int { Swift.min(appended, capacity) }
    var isEmpty: Bool { appended == 0 }

    /// Logical index of the oldest held sample.
    private var oldest: Int { appended - count }

    private func slot(_ logical: Int) -> Int { logical % capacity }

    /// Index of a logical sample's running sum and count for metric `m`.
    private func runningIndex(_ m: Int, _ logical: Int) -> Int { (logical % (capacity + 1)) * Metric.count + m }

    private func valueIndex(_ m: Int, _ s: Int) -> Int { s * Metric.count + m }

    /// How far after the oldest held sample a slot's sample is (0 = oldest).
    private func distance(ofSlot s: Int) -> Int {
        let o = slot(oldest)
        return s >= o ? s - o : s + capacity - o
    }

    mutating func append(_ sample: Sample) {
        let s = slot(appended)
        sequences[s] = sample.sequence
        wall[s] = sample.wallNanos
        mono[s] = sample.monoNanos
        generations[s] = sample.generation
        let r = runningIndex(0, appended)
        let prior = appended > 0 ? runningIndex(0, appended - 1) : nil
        for m in 0..<Metric.count {
            let v = sample.values.storage[m]
            values[valueIndex(m, s)] = v
            let priorSum = prior.map { sums[$0 + m] } ?? 0
            let priorCount = prior.map { counts[$0 + m] } ?? 0
            sums[r + m] = v.isNaN ? priorSum : priorSum + v
            counts[r + m] = v.isNaN ? priorCount : priorCount &+ 1
        }
        values.withUnsafeBufferPointer { all in
            for m in 0..<Metric.count {
                let v = all[s * Metric.count + m]
                maxima[m].append(slot: s, value: v) { all[$0 * Metric.count + m] }
                minima[m].append(slot: s, value: v) { all[$0 * Metric.count + m] }
            }
        }
        appended += 1
    }
}

struct LegacySuffixExtremes {
    /// Slots of the candidates, oldest first, as a circular deque of the ring's capacity.
    private var slots: [UInt32]
    private var head = 0
    private(set) var count = 0
    private let capacity: Int
    /// +1 keeps maxima, −1 minima (values are compared as sign × value).
    private let sign: Double

    init(capacity: Int, maxima: Bool) {
        self.capacity = capacity
        slots = [UInt32](repeating: 0, count: capacity)
        sign = maxima ? 1 : -1
    }

    private func at(_ i: Int) -> Int { Int(slots[(head + i) % capacity]) }

    /// Drops candidates at `slot` (about to be overwritten) and pushes the new value there.
    /// `value` NaN (absent) is never a candidate.
    mutating func append(slot: Int, value: Double, valueAt: (Int) -> Double) {
        // The oldest candidate may sit in the slot being overwritten: it leaves the ring.
        if count > 0, at(0) == slot { head = (head + 1) % capacity; count -= 1 }
        guard !value.isNaN else { return }
        let v = sign * value
        while count > 0, sign * valueAt(at(count - 1)) <= v { count -= 1 }
        slots[(head + count) % capacity] = UInt32(slot)
        count += 1
    }
}
