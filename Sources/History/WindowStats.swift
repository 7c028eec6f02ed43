import SampleModel

/// max/min/avg/last of one metric over a window. Absent values are skipped, never counted as 0.
public struct WindowStats: Sendable, Equatable {
    public var max: Double
    /// The sequence and time of the most recent sample holding the maximum.
    public var maxSequence: UInt64
    public var maxWallNanos: Int64
    public var min: Double
    public var average: Double
    /// The value in the newest sample of the window (nil if that sample lacks it).
    public var last: Double?
    /// How many samples of the window have this metric.
    public var count: Int
}

/// Which samples a window covers.
public enum WindowSpec: Sendable, Equatable {
    /// Samples taken in the last `seconds` before the newest one: (newest − seconds, newest].
    case seconds(Double)
    /// The newest `n` samples.
    case samples(Int)
}

public struct WindowResult: Sendable, Equatable {
    public var spec: WindowSpec
    /// Samples in the window.
    public var sampleCount: Int
    public var fromSequence: UInt64?
    public var toSequence: UInt64?
    /// False when the window reaches back further than the history held.
    public var covered: Bool
    /// Indexed by `Metric.rawValue`; nil where no sample in the window has the metric.
    public var stats: [WindowStats?]

    public subscript(_ metric: Metric) -> WindowStats? { stats[metric.rawValue] }
}
