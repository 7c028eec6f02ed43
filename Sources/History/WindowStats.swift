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

/// Which samples a window covers. A sample taken at t stands for (t − interval, t].
public enum WindowSpec: Sendable, Equatable {
    /// Samples taken in the last `seconds` before the newest one: (newest − seconds, newest],
    /// on the monotonic timeline.
    case seconds(Double)
    /// The newest `n` samples.
    case samples(Int)
    /// Every sample whose interval overlaps (from, to] (wall clock, ns since the epoch): a sample
    /// taken at t stands for (t_prev, t], the time since the sample before it ((t − interval, t]
    /// for the first; see `SampleStore.intervalStart`), so it is in the window when from < t and
    /// t_prev < to. Wall-clock steps are allowed for (see `TimeIndex`).
    case range(fromWallNanos: Int64, toWallNanos: Int64)
}

public struct WindowResult: Sendable, Equatable {
    public var spec: WindowSpec
    /// Samples in the window.
    public var sampleCount: Int
    public var fromSequence: UInt64?
    public var toSequence: UInt64?
    /// The target generations of the window's oldest and newest samples. Generations never go
    /// back along the sequences, so equal ones mean every sample of the window is of one
    /// generation (one DRUM root: no restart, exec or lost target inside the window).
    public var fromGeneration: UInt32?
    public var toGeneration: UInt32?
    /// False when part of the window lies before the oldest held sample, after the newest, or in
    /// a gap while the daemon was not running.
    public var covered: Bool
    /// Indexed by `Metric.rawValue`; nil where no sample in the window has the metric.
    public var stats: [WindowStats?]

    public subscript(_ metric: Metric) -> WindowStats? { stats[metric.rawValue] }
}
