// Monotonic time and polling for a condition (never a sleep standing in for one).
#if canImport(Glibc)
import Glibc
#endif

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func monotonicMicros() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}

func pause(_ seconds: Double) {
    usleep(useconds_t(seconds * 1_000_000))
}

/// Polls `body` every `every` seconds until it returns non-nil or `timeout` passes (a bound for
/// a condition, not a synchronisation sleep).
func poll<T>(timeout: Double, every: Double = 0.05, _ body: () throws -> T?) rethrows -> T? {
    let deadline = monotonicSeconds() + timeout
    while true {
        if let v = try body() { return v }
        if monotonicSeconds() >= deadline { return nil }
        pause(every)
    }
}

/// Polls a boolean condition; true when it held before the deadline.
func pollUntil(timeout: Double, every: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    try poll(timeout: timeout, every: every) { try condition() ? true : nil } ?? false
}
