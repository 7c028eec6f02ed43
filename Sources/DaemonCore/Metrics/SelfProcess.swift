import KernelReaders
import QueryServer
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's own process figures for `process_*`, read from /proc/self at each scrape (three
/// small reads and one directory listing: a few microseconds, off the sampler's path).
final class SelfProcess: Sendable {
    private let constants = SystemConstants.fromSysconf()
    /// Boot time (Unix seconds), from /proc/stat's `btime`: constant, read once.
    private let bootTime: Double?

    init() {
        bootTime = (try? HeldFile.read("/proc/stat")).flatMap(Self.bootTime(procStat:))
    }

    func read() -> DaemonProcess {
        var p = DaemonProcess()
        let hz = Double(Swift.max(constants.clockTicksPerSecond, 1))
        if let stat = try? HeldFile.read("/proc/self/stat"),
           let parsed = try? stat.withUnsafeBufferPointer({ b throws(KernelFileError) in try ProcStat.parse(b, path: "/proc/self/stat") }) {
            p.cpuSeconds = Double(parsed.cpuTicks) / hz
            if let bootTime { p.startTimeSeconds = bootTime + Double(parsed.startTimeTicks) / hz }
        }
        if let statm = try? HeldFile.read("/proc/self/statm") {
            let fields = statm.split(separator: UInt8(ascii: " ")).prefix(2).map { Parse.unsigned($0.filter { $0 >= 0x30 && $0 <= 0x39 }) }
            if fields.count == 2, let size = fields[0], let resident = fields[1] {
                p.virtualBytes = size &* constants.pageSize
                p.residentBytes = resident &* constants.pageSize
            }
        }
        p.openFDs = Self.openDescriptors()
        var limit = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 { p.maxFDs = UInt64(limit.rlim_cur) }
        return p
    }

    static func bootTime(procStat bytes: [UInt8]) -> Double? {
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("btime ".utf8)) {
            return Parse.unsigned(line.dropFirst(6)).map { Double($0) }
        }
        return nil
    }

    /// Entries of /proc/self/fd, less the one the listing itself holds.
    static func openDescriptors() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let first = DirectoryEntry.name(entry).first ?? 0
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return Swift.max(count - 1, 0)
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif
