import Foundation
import KernelReaders
@testable import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// A fake /proc in a temporary directory, for running the sampler as any user on any host.
/// Files are rewritten in place (the sampler holds stat files open, as it does /proc's); a
/// process "exits" by its stat going empty and its directory going away.
final class ProcFixture {
    let root: String
    var paths: KernelPaths { KernelPaths(procRoot: root + "/proc", cgroupRoot: root + "/sys/fs/cgroup") }
    /// 100 clock ticks per second, 4 KiB pages.
    static let constants = SystemConstants(clockTicksPerSecond: 100, pageSize: 4096)

    struct Process {
        var pid: Int32
        var ppid: Int32
        var comm = "python3"
        var argv: [String]
        var startTicks: UInt64
        var utime: UInt64 = 0
        var stime: UInt64 = 0
        var rssPages: UInt64 = 100
        /// Where argv sits (stat fields 48–49): a new program gets new ones.
        var argStart: UInt64 = 0x7ffd_0000_1000
        var environment: [String: String] = [:]
    }

    private(set) var processes: [Int32: Process] = [:]

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("drum-monitor-proc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/proc/self", withIntermediateDirectories: true)
        try write("proc/self/mountinfo", "")
        try write("proc/meminfo", "MemTotal:       16384000 kB\nMemFree:         8192000 kB\nMemAvailable:   12288000 kB\n")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func configuration(_ target: TargetSpec, readEnvironment: Bool = true) -> SamplerConfiguration {
        SamplerConfiguration(paths: paths, target: target, readEnvironment: readEnvironment, constants: Self.constants)
    }

    /// Writes (or rewrites, in place) every file of a process, and its parent's children file.
    func put(_ p: Process) throws {
        processes[p.pid] = p
        try write("proc/\(p.pid)/stat", statLine(p))
        try write("proc/\(p.pid)/cmdline", p.argv.joined(separator: "\0") + "\0")
        try write("proc/\(p.pid)/environ", p.environment.map { "\($0.key)=\($0.value)\0" }.joined())
        try writeChildren(of: p.pid)
        try writeChildren(of: p.ppid)
    }

    func update(_ pid: Int32, _ change: (inout Process) -> Void) throws {
        guard var p = processes[pid] else { fatalError("no fixture process \(pid)") }
        change(&p)
        try put(p)
    }

    /// The process exits: what the sampler holds reads as nothing, the directory goes.
    func exit(_ pid: Int32) throws {
        guard let p = processes.removeValue(forKey: pid) else { return }
        for file in ["stat", "cmdline", "environ", "task/\(pid)/children"] { truncate(root + "/proc/\(pid)/\(file)", 0) }
        try FileManager.default.removeItem(atPath: root + "/proc/\(pid)")
        try writeChildren(of: p.ppid)
    }

    func write(_ relative: String, _ text: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // In place (O_TRUNC), never by rename: held descriptors must see the new content.
        guard let f = fopen(path, "w") else { throw FixtureError(message: "cannot write \(path)") }
        defer { fclose(f) }
        _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, f) }
    }

    private func writeChildren(of pid: Int32) throws {
        guard processes[pid] != nil else { return }
        let kids = processes.values.filter { $0.ppid == pid }.map(\.pid).sorted()
        try write("proc/\(pid)/task/\(pid)/children", kids.map { "\($0) " }.joined())
    }

    private func statLine(_ p: Process) -> String {
        // 52 fields as the kernel writes them; the sampler reads 4, 14–17, 20, 22, 24 and 48–49.
        var f = [String](repeating: "0", count: 52)
        f[0] = "\(p.pid)"; f[1] = "(\(p.comm))"; f[2] = "S"; f[3] = "\(p.ppid)"
        f[13] = "\(p.utime)"; f[14] = "\(p.stime)"; f[19] = "1"; f[21] = "\(p.startTicks)"; f[23] = "\(p.rssPages)"
        f[47] = "\(p.argStart)"; f[48] = "\(p.argStart + 200)"
        return f.joined(separator: " ") + "\n"
    }

    struct FixtureError: Error { var message: String }
}

/// A clock the test moves by hand.
final class ManualClock: SamplerClock {
    var mono: UInt64 = 1_000_000_000_000
    var wall: Int64 = 1_800_000_000_000_000_000
    /// Boot time: start times (ticks at 100/s) are compared against it.
    var boot: UInt64 = 10_000_000_000_000

    func monotonicNanos() -> UInt64 { mono }
    func wallNanos() -> Int64 { wall }
    func bootNanos() -> UInt64 { boot }

    func advance(seconds: Double) {
        let n = UInt64(seconds * 1e9)
        mono += n
        wall += Int64(n)
        boot += n
    }

    /// The start time (clock ticks after boot) of a process started `ago` seconds before now.
    func startTicks(ago: Double) -> UInt64 { UInt64((Double(boot) / 1e9 - ago) * 100) }
}
