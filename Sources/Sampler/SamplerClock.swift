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

/// The real clocks (SampleModel's `Clock`).
public struct SystemClock: SamplerClock {
    public init() {}
    public func monotonicNanos() -> UInt64 { Clock.monotonicNanos() }
    public func wallNanos() -> Int64 { Clock.wallNanos() }
    public func bootNanos() -> UInt64 { Clock.bootNanos() }
}
