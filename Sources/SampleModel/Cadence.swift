/// How well the timer keeps its cadence.
public struct Cadence: Sendable, Equatable {
    public var ticks: UInt64 = 0
    /// Ticks that ran more than a tenth of an interval after their scheduled time.
    public var lateTicks: UInt64 = 0
    /// Scheduled ticks that never ran because the previous one overran (not caught up).
    public var missedTicks: UInt64 = 0
    public var lastTickMono: UInt64 = 0
    public var maxLatenessNanos: UInt64 = 0
    /// The most recent latenesses, for percentiles.
    private var recent = LatenessBuckets()

    static var recentCapacity: Int { LatenessBuckets.recentCapacity }

    public init() {}

    /// One tick that ran at `mono` for the timer's deadlines from `earliestDeadline` on: `fires`
    /// of them (more than 1 when the loop stalled or overran; the ones in between never ran).
    /// Lateness counts from the earliest deadline, so a stall shows as the whole gap rather than
    /// as the lateness behind the last deadline it skipped.
    public mutating func recordTick(at mono: UInt64, earliestDeadline: UInt64, fires: UInt64, intervalNanos: UInt64) {
        let lateness = mono > earliestDeadline ? mono - earliestDeadline : 0
        ticks &+= 1
        missedTicks &+= Swift.max(fires, 1) - 1
        if lateness > intervalNanos / 10 { lateTicks &+= 1 }
        lastTickMono = mono
        record(latenessNanos: lateness)
    }

    /// Keeps one tick's lateness (`recordTick` calls this once per tick). O(1).
    public mutating func record(latenessNanos: UInt64) {
        recent.record(latenessNanos)
        if latenessNanos > maxLatenessNanos { maxLatenessNanos = latenessNanos }
    }

    /// Lateness percentile (0...1) over the most recent ticks (up to 4,096), in nanoseconds,
    /// within 1/32 of the exact nearest-rank value (see `LatenessBuckets`). O(1): a walk over a
    /// fixed number of buckets.
    public func latenessPercentile(_ p: Double) -> UInt64? {
        recent.percentile(p)
    }
}
