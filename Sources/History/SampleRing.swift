import Sampler

/// A fixed-capacity ring of samples, stored column by column, with a `BlockTree` per metric.
/// All memory is allocated up front: capacity = retention ÷ interval.
/// Not thread-safe; `History` guards it.
public struct SampleRing {
    public let capacity: Int
    /// The nominal interval: a sample at time t stands for (t − interval, t].
    public let intervalNanos: UInt64
    /// Samples ever appended; the newest is at logical index `appended - 1`.
    public private(set) var appended: Int = 0

    private var sequences: [UInt64]
    private var wall: [Int64]
    private var mono: [UInt64]
    private var generations: [UInt32]
    /// Metric-major: values[metric * capacity + slot].
    private var values: [Double]
    private var trees: [BlockTree]

    public init(capacity: Int, intervalNanos: UInt64) {
        precondition(capacity >= 1, "ring capacity must be at least 1")
        self.capacity = capacity
        self.intervalNanos = intervalNanos
        sequences = [UInt64](repeating: 0, count: capacity)
        wall = [Int64](repeating: 0, count: capacity)
        mono = [UInt64](repeating: 0, count: capacity)
        generations = [UInt32](repeating: 0, count: capacity)
        values = [Double](repeating: .nan, count: capacity * Metric.count)
        trees = [BlockTree](repeating: BlockTree(capacity: capacity), count: Metric.count)
    }

    public var count: Int { Swift.min(appended, capacity) }
    public var isEmpty: Bool { appended == 0 }

    /// Logical index of the oldest held sample.
    private var oldest: Int { appended - count }

    private func slot(_ logical: Int) -> Int { logical % capacity }

    public mutating func append(_ sample: Sample) {
        let s = slot(appended)
        sequences[s] = sample.sequence
        wall[s] = sample.wallNanos
        mono[s] = sample.monoNanos
        generations[s] = sample.generation
        for m in 0..<Metric.count { values[m * capacity + s] = sample.values.storage[m] }
        appended += 1
        values.withUnsafeBufferPointer { all in
            for m in 0..<Metric.count {
                trees[m].update(slot: s, column: column(all, m))
            }
        }
    }

    private func column(_ all: UnsafeBufferPointer<Double>, _ m: Int) -> UnsafeBufferPointer<Double> {
        UnsafeBufferPointer(rebasing: all[(m * capacity)..<((m + 1) * capacity)])
    }

    /// The sample at a logical index (must be held).
    public func sample(at logical: Int) -> Sample {
        let s = slot(logical)
        var v = MetricValues()
        for m in 0..<Metric.count { v.storage[m] = values[m * capacity + s] }
        return Sample(sequence: sequences[s], wallNanos: wall[s], monoNanos: mono[s], generation: generations[s], values: v)
    }

    public var newest: Sample? { isEmpty ? nil : sample(at: appended - 1) }

    /// The first logical index in `oldest..<appended` for which `isAfter` is true (a monotone
    /// predicate over the ring), or `appended` if none.
    private func partition(_ isAfter: (Int) -> Bool) -> Int {
        var lo = oldest, hi = appended
        while lo < hi {
            let mid = (lo + hi) / 2
            if isAfter(slot(mid)) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Statistics of every metric over a window; O(log n) in the window's length.
    public func window(_ spec: WindowSpec) -> WindowResult {
        var result = WindowResult(spec: spec, sampleCount: 0, fromSequence: nil, toSequence: nil, covered: false,
                                  stats: [WindowStats?](repeating: nil, count: Metric.count))
        guard !isEmpty else { return result }
        let last = appended - 1
        let first: Int
        switch spec {
        case .samples(let n):
            guard n > 0 else { return result }
            first = Swift.max(oldest, appended - n)
            result.covered = n <= count
        case .seconds(let seconds):
            guard seconds > 0 else { return result }
            let span = seconds * 1e9 >= Double(UInt64.max) ? UInt64.max : UInt64(seconds * 1e9)
            let newestMono = mono[slot(last)]
            let start = newestMono > span ? newestMono - span : 0
            first = partition { mono[$0] > start }
            let oldestMono = mono[slot(oldest)]
            result.covered = (oldestMono > intervalNanos ? oldestMono - intervalNanos : 0) <= start
        }
        guard first <= last else { return result }
        result.sampleCount = last - first + 1
        result.fromSequence = sequences[slot(first)]
        result.toSequence = sequences[slot(last)]
        // The logical range maps to at most two physical ranges (before and after the wrap).
        let (p0, p1) = (slot(first), slot(last))
        let ranges = p0 <= p1 ? [(p0, p1)] : [(p0, capacity - 1), (0, p1)]
        values.withUnsafeBufferPointer { all in
            for m in 0..<Metric.count {
                let col = column(all, m)
                var agg = Aggregate()
                for (lo, hi) in ranges { agg.merge(trees[m].query(lo, hi, column: col)) }
                guard agg.count > 0 else { continue }
                // Newest occurrence of the maximum: search the newer physical range first.
                var maxSlot: Int?
                for (lo, hi) in ranges.reversed() {
                    if let s = trees[m].lastSlot(of: agg.max, in: lo, hi, column: col) { maxSlot = s; break }
                }
                let at = maxSlot ?? p1
                let lastValue = col[p1]
                result.stats[m] = WindowStats(max: agg.max, maxSequence: sequences[at], maxWallNanos: wall[at],
                                              min: agg.min, average: agg.sum / Double(agg.count),
                                              last: lastValue.isNaN ? nil : lastValue, count: agg.count)
            }
        }
        return result
    }

    /// Samples with a sequence greater than `since`, oldest first, at most `limit`.
    /// `truncated` is true when samples after `since` were already dropped from the ring.
    public func samples(after since: UInt64, limit: Int) -> (samples: [Sample], truncated: Bool) {
        guard !isEmpty, limit > 0 else { return ([], false) }
        let first = partition { sequences[$0] > since }
        let truncated = first == oldest && sequences[slot(oldest)] > since &+ 1 && since != 0
        let end = Swift.min(appended, first + limit)
        return ((first..<end).map { sample(at: $0) }, truncated)
    }
}
