import SampleModel

/// A fixed-capacity ring of samples, stored column by column. All memory is allocated up front:
/// capacity = retention ÷ interval. Windows always end at the newest sample, so each is a suffix
/// of the ring; per metric, `SuffixExtremes` answers max and min, and running sums answer the
/// average, in time that does not grow with the window's length.
/// Not thread-safe; `History` guards it.
public struct SampleRing: Sendable {
    public let capacity: Int
    /// The nominal interval: a sample at time t stands for (t − interval, t].
    public let intervalNanos: UInt64
    /// Samples ever appended; the newest is at logical index `appended - 1`.
    public private(set) var appended: Int = 0

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
    private var maxima: [SuffixExtremes]
    private var minima: [SuffixExtremes]

    public init(capacity: Int, intervalNanos: UInt64) {
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
        // One deque each, allocated now: `repeating:` would share one buffer that the first
        // append then copies 2 × Metric.count times, under History's lock.
        maxima = (0..<Metric.count).map { _ in SuffixExtremes(capacity: capacity, maxima: true) }
        minima = (0..<Metric.count).map { _ in SuffixExtremes(capacity: capacity, maxima: false) }
    }

    /// The bytes a ring of `capacity` samples allocates: what `init` allocates, counted array by
    /// array (the configuration checks it against `max_history_bytes` and the daemon's cgroup).
    public static func bytes(capacity: Int) -> Int {
        let m = Metric.count
        let perSample = MemoryLayout<UInt64>.stride + MemoryLayout<Int64>.stride + MemoryLayout<UInt64>.stride // sequences, wall, mono
            + MemoryLayout<UInt32>.stride // generations
            + m * MemoryLayout<Double>.stride // values
            + 2 * m * MemoryLayout<UInt32>.stride // maxima and minima deques
        let running = (capacity + 1) * m * (MemoryLayout<Double>.stride + MemoryLayout<UInt32>.stride) // sums, counts
        return capacity * perSample + running
    }

    public var count: Int { Swift.min(appended, capacity) }
    public var isEmpty: Bool { appended == 0 }

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

    public mutating func append(_ sample: Sample) {
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

    /// The sample at a logical index (must be held).
    public func sample(at logical: Int) -> Sample {
        let s = slot(logical)
        var v = MetricValues()
        for m in 0..<Metric.count { v.storage[m] = values[valueIndex(m, s)] }
        return Sample(sequence: sequences[s], wallNanos: wall[s], monoNanos: mono[s], generation: generations[s], values: v)
    }

    /// The first logical index in `oldest..<appended` for which `isAfter` (monotone) holds.
    private func partition(_ isAfter: (Int) -> Bool) -> Int {
        var lo = oldest, hi = appended
        while lo < hi {
            let mid = (lo + hi) / 2
            if isAfter(slot(mid)) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Statistics of every metric over a window ending at the newest sample.
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
        let firstDistance = first - oldest
        let newestSlot = slot(last)
        for m in 0..<Metric.count {
            let newestRunning = runningIndex(m, last)
            let beforeFirst = first > 0 ? runningIndex(m, first - 1) : nil
            let present = Int(counts[newestRunning] &- (beforeFirst.map { counts[$0] } ?? 0))
            guard present > 0,
                  let maxSlot = maxima[m].first(atOrAfter: firstDistance, distanceOf: distance(ofSlot:)),
                  let minSlot = minima[m].first(atOrAfter: firstDistance, distanceOf: distance(ofSlot:)) else { continue }
            let sum = sums[newestRunning] - (beforeFirst.map { sums[$0] } ?? 0)
            let lastValue = values[valueIndex(m, newestSlot)]
            result.stats[m] = WindowStats(max: values[valueIndex(m, maxSlot)], maxSequence: sequences[maxSlot], maxWallNanos: wall[maxSlot],
                                          min: values[valueIndex(m, minSlot)], average: sum / Double(present),
                                          last: lastValue.isNaN ? nil : lastValue, count: present)
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
