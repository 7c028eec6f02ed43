/// The sparklines' columns: the window cut into buckets of equal length on the wall clock,
/// aligned to multiples of the bucket length (so a column's value does not change as the view
/// scrolls), each holding the memory maximum and the tree's average CPU of its samples.
struct SparkGeometry: Equatable, Sendable {
    var windowSeconds: Double
    var columns: Int
    var bucketNanos: Int64

    /// At most `room` columns and at most one column per sample: a bucket is never shorter than
    /// the interval.
    init(windowSeconds: Double, room: Int, intervalSeconds: Double) {
        self.windowSeconds = windowSeconds
        let samples = (windowSeconds / max(intervalSeconds, 0.001)).rounded(.down)
        columns = max(1, min(max(room, 1), samples >= 1 && samples < 1e9 ? Int(samples) : 1))
        let nanos = windowSeconds * 1e9 / Double(columns)
        bucketNanos = nanos >= 1 && nanos < 9e18 ? Int64(nanos) : 1
    }

    /// Bucket i holds the samples taken in (i·b, (i+1)·b].
    func index(ofSampleAt ns: Int64) -> Int64 {
        let (q, r) = (ns - 1).quotientAndRemainder(dividingBy: bucketNanos)
        return r < 0 ? q - 1 : q
    }

    /// The `from` and `to` of a range window holding exactly bucket i's samples: a sample at t
    /// stands for (t − interval, t] and is in [from, to] when from < t and t − interval < to.
    func rangeNanos(_ i: Int64, intervalNanos: Int64) -> (from: Int64, to: Int64) {
        let from = i &* bucketNanos
        return (from, max(from, (i + 1) &* bucketNanos - intervalNanos + 1))
    }
}

/// What one bucket holds.
struct Bucket: Equatable, Sendable {
    var memoryMax: Double?
    var cpuSum = 0.0
    var cpuCount = 0

    var cpuAverage: Double? { cpuCount > 0 ? cpuSum / Double(cpuCount) : nil }

    mutating func add(memory: Double?, cpu: Double?) {
        if let memory, memory.isFinite { memoryMax = Swift.max(memoryMax ?? memory, memory) }
        if let cpu, cpu.isFinite { cpuSum += cpu; cpuCount += 1 }
    }
}

/// Buckets of one geometry, filled from range windows (a whole bucket at a time) or from
/// samples (one at a time), and read as the `geometry.columns` buckets ending at a given one.
struct Series: Sendable, Equatable {
    let geometry: SparkGeometry
    private(set) var buckets: [Int64: Bucket] = [:]
    /// The newest bucket that holds a sample.
    private(set) var newest: Int64?

    init(_ geometry: SparkGeometry) { self.geometry = geometry }

    mutating func add(sampleAt ns: Int64, memory: Double?, cpu: Double?) {
        let i = geometry.index(ofSampleAt: ns)
        buckets[i, default: Bucket()].add(memory: memory, cpu: cpu)
        if newest.map({ i > $0 }) ?? true { newest = i }
        prune()
    }

    mutating func set(_ i: Int64, _ bucket: Bucket?) {
        buckets[i] = bucket
        if bucket != nil, newest.map({ i > $0 }) ?? true { newest = i }
        prune()
    }

    /// Keeps the buckets a view ending at `newest` shows (plus one, for a view ending a bucket earlier).
    private mutating func prune() {
        guard let newest, buckets.count > geometry.columns + 1 else { return }
        let oldest = newest - Int64(geometry.columns)
        buckets = buckets.filter { $0.key >= oldest }
    }

    /// The columns, oldest first, of the view whose newest bucket is `last`; nil where no sample is held.
    func columns(endingAt last: Int64) -> [Bucket?] {
        let first = last - Int64(geometry.columns) + 1
        return (0..<geometry.columns).map { buckets[first + Int64($0)] }
    }
}

/// A sparkline: one character per value, its height from `low` (the lowest level) to `high`
/// (the highest); nil values are blank.
enum Sparkline {
    static func text(_ values: [Double?], low: Double, high: Double, glyphs: Glyphs) -> String {
        let levels = glyphs.spark.count
        return values.map { v -> String in
            guard let v, v.isFinite else { return " " }
            guard high > low, (high - low).isFinite else { return glyphs.spark[0] }
            let level = Int((min(max((v - low) / (high - low), 0), 1) * Double(levels)).rounded(.down))
            return glyphs.spark[min(level, levels - 1)]
        }.joined()
    }
}
