/// How old the newest sample is, and the one rule for when that is too old.
///
/// The rule is /healthz's, as documented: stale once the newest sample is more than three
/// intervals old (no sample yet counts as stale too). The systemd watchdog
/// uses the same rule: the daemon pings WATCHDOG=1 only while the samples are fresh, so it stops
/// pinging exactly when /healthz turns 503, and systemd then restarts the service once
/// WatchdogSec passes without a ping (the unit's WatchdogSec is the restart grace, not this rule).
public struct SampleFreshness: Sendable, Equatable {
    /// Nanoseconds since the newest sample (CLOCK_MONOTONIC); nil before the first one.
    public var ageNanos: UInt64?
    public var intervalNanos: UInt64

    public enum Status: String, Sendable {
        /// No sample yet.
        case starting
        case ok
        /// The newest sample is older than `staleAfterIntervals` intervals.
        case stale
    }

    public static let staleAfterIntervals = 3.0

    /// `newestMono`: when the newest sample was taken (nil: none yet); `now` as CLOCK_MONOTONIC.
    public init(newestMono: UInt64?, intervalNanos: UInt64, now: UInt64 = Clock.monotonicNanos()) {
        ageNanos = newestMono.map { now &- $0 }
        self.intervalNanos = intervalNanos
    }

    /// Freshness as the sampling loop's cadence records it.
    public init(_ cadence: Cadence, intervalNanos: UInt64, now: UInt64 = Clock.monotonicNanos()) {
        self.init(newestMono: cadence.ticks == 0 ? nil : cadence.lastTickMono, intervalNanos: intervalNanos, now: now)
    }

    public var ageSeconds: Double? { ageNanos.map { Double($0) / 1e9 } }

    /// Seconds since `sample` was taken.
    public static func ageSeconds(of sample: Sample, now: UInt64 = Clock.monotonicNanos()) -> Double {
        Double(now &- sample.monoNanos) / 1e9
    }

    public var intervalSeconds: Double { Double(intervalNanos) / 1e9 }

    /// No sample yet, or the newest is too old.
    public var isStale: Bool { ageSeconds.map { $0 > Self.staleAfterIntervals * intervalSeconds } ?? true }

    public var status: Status { ageNanos == nil ? .starting : isStale ? .stale : .ok }
}
