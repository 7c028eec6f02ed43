#if canImport(Glibc)
import Glibc
#endif

/// When the watched root started, read by `top` on its own side from this host's /proc (the
/// daemon is not asked to do more). Only when the pid here runs the command line the snapshot
/// names: in another pid namespace, or after the pid was reused, the age is left out rather
/// than wrong.
enum RootStart {
    static func unixNanos(pid: Int, cmdline: String) -> Int64? {
        guard pid > 0, let args = read("/proc/\(pid)/cmdline", limit: 1 << 16), !args.isEmpty else { return nil }
        var parts = args.split(separator: 0, omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true { parts.removeLast() }
        guard parts.map({ String(decoding: $0, as: UTF8.self) }).joined(separator: " ") == cmdline,
              let stat = read("/proc/\(pid)/stat", limit: 4096), let ticks = startTicks(stat),
              let procStat = read("/proc/stat", limit: 1 << 20), let boot = bootTime(procStat) else { return nil }
        let hz = sysconf(Int32(_SC_CLK_TCK))
        guard hz > 0 else { return nil }
        let seconds = Double(boot) + Double(ticks) / Double(hz)
        return seconds.isFinite && seconds < 9e9 ? Int64(seconds * 1e9) : nil
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks after boot), counted after the
    /// last ')' since the command name may hold anything.
    static func startTicks(_ stat: [UInt8]) -> UInt64? {
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state): field 22 is fields[19].
        guard fields.count > 19, fields[19].count <= 20 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }

    /// `btime` of /proc/stat: the boot time in seconds since the epoch.
    static func bootTime(_ procStat: [UInt8]) -> UInt64? {
        for line in procStat.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("btime ".utf8)) {
            let value = line.dropFirst(6)
            guard value.count <= 20 else { return nil }
            return UInt64(String(decoding: value, as: UTF8.self))
        }
        return nil
    }

    /// At most `limit` bytes of a file; nil when it cannot be read. O_NONBLOCK: never waits.
    private static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - out.count)) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
}
