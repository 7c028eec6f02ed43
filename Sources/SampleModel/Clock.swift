#if canImport(Glibc)
import Glibc
#endif

/// Monotonic and wall-clock time in nanoseconds.
public enum Clock {
    public static func monotonicNanos() -> UInt64 { nanos(CLOCK_MONOTONIC) }

    public static func wallNanos() -> Int64 { Int64(bitPattern: nanos(CLOCK_REALTIME)) }

    private static func nanos(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
