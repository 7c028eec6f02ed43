#if canImport(Glibc)
import Glibc
#endif

/// One-shot reads of /proc files (open, read, close): for discovery and rare events. The sampler's
/// per-tick reads go through `HeldProcess` instead.
public struct ProcFiles: Sendable {
    public let paths: KernelPaths

    public init(paths: KernelPaths = .host) { self.paths = paths }

    public func stat(_ pid: Int32) throws(KernelFileError) -> ProcStat {
        let path = paths.proc(pid, "stat")
        return try HeldFile(path: path).withContents { bytes throws(KernelFileError) in
            try ProcStat.parse(bytes, path: path)
        }
    }

    public func cmdline(_ pid: Int32) throws(KernelFileError) -> [String] {
        ProcCmdline.parse(try HeldFile.read(paths.proc(pid, "cmdline")))
    }

    /// The value of one environment variable of `pid`, or nil if it is not set. Reading another
    /// user's environ needs the same uid or CAP_SYS_PTRACE: callers treat errors as "unknown".
    public func environment(_ pid: Int32, _ name: String) throws(KernelFileError) -> String? {
        let prefix = Array((name + "=").utf8)
        for entry in try HeldFile.read(paths.proc(pid, "environ")).split(separator: 0) where entry.starts(with: prefix) {
            return Printable.escape(entry.dropFirst(prefix.count))
        }
        return nil
    }

    /// Every pid in /proc.
    public func allPids() throws(KernelFileError) -> [Int32] {
        guard let dir = opendir(paths.procRoot) else {
            throw KernelFileError(path: paths.procRoot, kind: .open(errno: errno))
        }
        defer { closedir(dir) }
        var pids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if let v = Parse.unsigned(name), let pid = Int32(exactly: v) { pids.append(pid) }
        }
        return pids
    }

    /// Thread ids of `pid` (from /proc/PID/task).
    public func threads(_ pid: Int32) throws(KernelFileError) -> [Int32] {
        let path = paths.proc(pid, "task")
        guard let dir = opendir(path) else { throw KernelFileError(path: path, kind: .open(errno: errno)) }
        defer { closedir(dir) }
        var tids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if let v = Parse.unsigned(name), let tid = Int32(exactly: v) { tids.append(tid) }
        }
        return tids
    }

    /// Children of every thread of `pid` (/proc/PID/task/TID/children). Nil when the kernel has
    /// no children files (CONFIG_PROC_CHILDREN off): callers then scan /proc.
    public func children(_ pid: Int32) throws(KernelFileError) -> [Int32]? {
        var all: [Int32] = []
        for tid in try threads(pid) {
            let path = paths.proc(pid, "task/\(tid)/children")
            let file: HeldFile
            do { file = try HeldFile(path: path) } catch {
                if case .open(let e) = error.kind, e == ENOENT {
                    // A thread that just exited, or no children files at all.
                    if tid == pid { return nil }
                    continue
                }
                throw error
            }
            all += try file.withContents { bytes throws(KernelFileError) in try ProcChildren.parse(bytes, path: path) }
        }
        return all
    }

    /// pid → ppid for every process, from a full /proc scan (the fallback for finding children).
    public func parentMap() throws(KernelFileError) -> [Int32: Int32] {
        var map: [Int32: Int32] = [:]
        for pid in try allPids() {
            if let s = try? stat(pid) { map[pid] = s.ppid }
        }
        return map
    }

    /// The members of a cgroup (cgroup.procs).
    public static func cgroupProcs(_ directory: String) throws(KernelFileError) -> [Int32] {
        let path = directory + "/cgroup.procs"
        return try HeldFile(path: path).withContents { bytes throws(KernelFileError) in
            try ProcChildren.parse(bytes, path: path)
        }
    }
}

/// A process whose stat and children files are held open across samples.
public final class HeldProcess {
    public let pid: Int32
    private let statFile: HeldFile
    private let childrenFile: HeldFile?

    public init(pid: Int32, paths: KernelPaths) throws(KernelFileError) {
        self.pid = pid
        statFile = try HeldFile(path: paths.proc(pid, "stat"))
        childrenFile = try? HeldFile(path: paths.proc(pid, "task/\(pid)/children"))
    }

    /// Fails (ESRCH) once the process is gone, even though the descriptor is still open.
    public func stat(throughArgs: Bool = false) throws(KernelFileError) -> ProcStat {
        try statFile.withContents { bytes throws(KernelFileError) in
            try ProcStat.parse(bytes, path: statFile.path, throughArgs: throughArgs)
        }
    }

    /// Appends the main thread's children to `pids`; false when the kernel has no children files.
    public func mainThreadChildren(into pids: inout [Int32]) throws(KernelFileError) -> Bool {
        guard let childrenFile else { return false }
        try childrenFile.withContents { bytes throws(KernelFileError) in
            try ProcChildren.parse(bytes, path: childrenFile.path, into: &pids)
        }
        return true
    }
}
