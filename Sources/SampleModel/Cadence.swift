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
    private var recentLateness: [UInt64] = []
    private var recentNext = 0

    static let recentCapacity = 4096

    public init() {}

    /// Keeps one tick's lateness (the sampling loop calls this once per tick).
    public mutating func record(latenessNanos: UInt64) {
        if recentLateness.count < Self.recentCapacity {
            recentLateness.append(latenessNanos)
        } else {
            recentLateness[recentNext] = latenessNanos
            recentNext = (recentNext + 1) % Self.recentCapacity
        }
        if latenessNanos > maxLatenessNanos { maxLatenessNanos = latenessNanos }
    }

    /// Lateness percentile (0...1) over the recent ticks, in nanoseconds.
    public func latenessPercentile(_ p: Double) -> UInt64? {
        guard !recentLateness.isEmpty else { return nil }
        let sorted = recentLateness.sorted()
        let index = Swift.min(sorted.count - 1, Swift.max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }
}
