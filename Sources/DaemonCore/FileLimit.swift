#if canImport(Glibc)
import Glibc
#endif

/// The open-file limit. The tree walk holds two descriptors per watched process and the server
/// one per connection; systemd and most shells give a soft limit of 1024 under a much higher
/// hard one, so the daemon raises its soft limit to the hard one at start.
enum FileLimit {
    /// (before, after) when the soft limit was raised; nil when it already was the hard one or
    /// could not be changed.
    static func raiseSoftToHard() -> (from: UInt64, to: UInt64)? {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return nil }
        let from = UInt64(limit.rlim_cur)
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return nil }
        return (from, UInt64(limit.rlim_max))
    }

    private static var RLIMIT_NOFILE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }
}
