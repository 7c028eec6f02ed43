import SampleModel

/// The thresholds of event detection (configuration keys in parentheses).
public struct EventSettings: Sendable, Equatable {
    /// What `memory_high` compares with the limit (`memory_high_metric`).
    public enum HighMetric: String, Sendable, CaseIterable {
        case workingSet = "working_set"
        case current
    }

    /// `memory_high` once the metric stays at or above this fraction of the effective limit
    /// (`memory_high_fraction`, default 90 %) …
    public var memoryHighFraction = 0.9
    /// … for this many samples in a row (`memory_high_samples`).
    public var memoryHighSamples = 3
    /// `memory_high_cleared` once it falls below this fraction (`memory_high_clear_fraction`;
    /// default 5 points under `memoryHighFraction`): the gap is the hysteresis.
    public var memoryHighClearFraction: Double?
    public var memoryHighMetric = HighMetric.workingSet
    /// The memory trend is fitted over this window (`growth_window`, default 10 minutes) …
    public var growthWindowNanos: UInt64 = 600_000_000_000
    /// … and `memory_growth` raised when it would reach the limit within this (`growth_horizon`).
    public var growthHorizonNanos: UInt64 = 3_600_000_000_000
    /// `sampler_stall` when two samples are further apart than this many intervals
    /// (`stall_after_intervals`; default the watchdog's rule, `SampleFreshness.staleAfterIntervals`).
    public var stallAfterIntervals = SampleFreshness.staleAfterIntervals
    /// A new `limit_hit` only after the counter stood still this long (`limit_hit_quiet`): a
    /// cgroup that sits at its limit (page cache filling it is normal) gives one event per
    /// episode, not one per sample.
    public var limitHitQuietNanos: UInt64 = 60_000_000_000

    public init() {}

    public var clearFraction: Double { memoryHighClearFraction ?? max(0, memoryHighFraction - 0.05) }

    /// What is wrong with these settings, if anything (for check-config and reload).
    public var problems: [String] {
        var out: [String] = []
        if !(memoryHighFraction > 0 && memoryHighFraction <= 1) { out.append("'memory_high_fraction' must be in (0, 1]") }
        if let clear = memoryHighClearFraction, !(clear >= 0 && clear < memoryHighFraction) {
            out.append("'memory_high_clear_fraction' must be at least 0 and below 'memory_high_fraction'")
        }
        if memoryHighSamples < 1 { out.append("'memory_high_samples' must be at least 1") }
        if !(stallAfterIntervals >= 1.5) { out.append("'stall_after_intervals' must be at least 1.5") }
        return out
    }
}
