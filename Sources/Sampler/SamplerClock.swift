import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// The times a sample needs, injectable so that sampling steps run on fixtures with chosen times.
public protocol SamplerClock {
    /// CLOCK_MONOTONIC, ns: intervals and rates.
    func monotonicNanos() -> UInt64
    /// CLOCK_REALTIME, ns since the epoch: the sample's time.
    func wallNanos() -> Int64
    /// CLOCK_BOOTTIME, ns: the base of a process's start time (/proc/PID/stat field 22).
    func bootNanos() -> UInt64
}

/// The real clocks (SampleModel's `Clock`, and CLOCK_BOOTTIME).
public struct SystemClock: SamplerClock {
    public init() {}
    public func monotonicNanos() -> UInt64 { Clock.monotonicNanos() }
    public func wallNanos() -> Int64 { Clock.wallNanos() }
    public func bootNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
