#if canImport(Glibc)
import Glibc
#endif

/// Monotonic and wall-clock time in nanoseconds.
public enum Clock {
    public static func monotonicNanos() -> UInt64 { nanos(CLOCK_MONOTONIC) }

    public static func wallNanos() -> Int64 { Int64(bitPattern: nanos(CLOCK_REALTIME)) }

    /// Time since boot, suspend included (CLOCK_BOOTTIME): the clock /proc/PID/stat's start
    /// times count on, so a process's age is this minus its start time.
    public static func bootNanos() -> UInt64 { nanos(CLOCK_BOOTTIME) }

    private static func nanos(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
