#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

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

    /// At most this much of a command line is read: the process decides its length (up to the
    /// kernel's 6 MiB for argv and environment together) and its tree is held every tick.
    public static let maxCmdlineBytes = 32 * 1024

    /// argv, cut at `maxCmdlineBytes` (the last argument then ends in "…").
    public func cmdline(_ pid: Int32) throws(KernelFileError) -> [String] {
        let (bytes, truncated) = try BoundedRead.prefix(paths.proc(pid, "cmdline"), limit: Self.maxCmdlineBytes)
        var argv = ProcCmdline.parse(bytes)
        if truncated, !argv.isEmpty { argv[argv.count - 1] += "…" }
        return argv
    }

    /// The value of one environment variable of `pid` (its first 4 KiB), or nil if it is not set.
    /// Read in chunks, never whole. Reading another user's environ needs the same uid or
    /// CAP_SYS_PTRACE: the error (EACCES) is the caller's to report, never "not set".
    public func environment(_ pid: Int32, _ name: String) throws(KernelFileError) -> String? {
        try environmentBytes(pid, name).map { Printable.escape($0) }
    }

    /// `environment`'s value as the bytes the process has (its first 4 KiB), not escaped.
    public func environmentBytes(_ pid: Int32, _ name: String) throws(KernelFileError) -> [UInt8]? {
        var search = EnvironmentSearch(name: name)
        try BoundedRead.chunks(paths.proc(pid, "environ")) { search.feed($0) }
        return search.value
    }

    /// Every pid in /proc.
    public func allPids() throws(KernelFileError) -> [Int32] {
        var pids: [Int32] = []
        try forEachProcess { pid, _ in pids.append(pid) }
        return pids
    }

    /// Every process in /proc with the inode of its /proc/PID directory, from readdir alone (no
    /// file of the process is opened). The kernel gives a new process a new inode even when it
    /// reuses a pid, so an unchanged (pid, inode) is a process already seen.
    public func forEachProcess(_ body: (Int32, UInt64) -> Void) throws(KernelFileError) {
        guard let dir = opendir(paths.procRoot) else {
            throw KernelFileError(path: paths.procRoot, kind: .open(errno: errno))
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            if let pid = DirectoryEntry.pid(entry) { body(pid, UInt64(entry.pointee.d_ino)) }
        }
    }

    /// The uid that owns /proc/PID (the process's effective uid; root for a non-dumpable one).
    public func owner(_ pid: Int32) throws(KernelFileError) -> UInt32 {
        let path = "\(paths.procRoot)/\(pid)"
        do { return try FilePath(path).stat().userID.rawValue } catch {
            throw KernelFileError(path: path, kind: .open(errno: error.rawValue))
        }
    }

    /// Thread ids of `pid` (from /proc/PID/task).
    public func threads(_ pid: Int32) throws(KernelFileError) -> [Int32] {
        let path = paths.proc(pid, "task")
        guard let dir = opendir(path) else { throw KernelFileError(path: path, kind: .open(errno: errno)) }
        defer { closedir(dir) }
        var tids: [Int32] = []
        while let entry = readdir(dir) {
            if let tid = DirectoryEntry.pid(entry) { tids.append(tid) }
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

    /// Appends the children of `pid`'s main thread (open, read, close); false when the kernel
    /// has no children files. Other errors (the process exited, out of descriptors) are thrown.
    public func mainThreadChildren(_ pid: Int32, into pids: inout [Int32]) throws(KernelFileError) -> Bool {
        let path = paths.proc(pid, "task/\(pid)/children")
        let file: HeldFile
        do { file = try HeldFile(path: path) } catch {
            if case .open(let e) = error.kind, e == ENOENT, (try? stat(pid)) != nil { return false }
            throw error
        }
        try file.withContents { bytes throws(KernelFileError) in try ProcChildren.parse(bytes, path: path, into: &pids) }
        return true
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

/// A process whose stat file (and, for the root, children file) is held open across samples.
public final class HeldProcess {
    public let pid: Int32
    private let statFile: HeldFile
    private let childrenFile: HeldFile?

    /// `holdsChildren`: also hold the main thread's children file (the root's, re-read every
    /// tick). Other processes' children are read rarely, so they cost one descriptor, not two.
    public init(pid: Int32, paths: KernelPaths, holdsChildren: Bool = true) throws(KernelFileError) {
        self.pid = pid
        statFile = try HeldFile(path: paths.proc(pid, "stat"))
        if holdsChildren {
            do { childrenFile = try HeldFile(path: paths.proc(pid, "task/\(pid)/children")) } catch {
                // Out of descriptors is not "no children files on this kernel".
                if case .open(let e) = error.kind, e == EMFILE || e == ENFILE { throw error }
                childrenFile = nil
            }
        } else {
            childrenFile = nil
        }
    }

    /// Fails (ESRCH) once the process is gone, even though the descriptor is still open.
    /// `throughArgs`, `withComm`: as `ProcStat.parse`.
    public func stat(throughArgs: Bool = false, withComm: Bool = true) throws(KernelFileError) -> ProcStat {
        try statFile.withContents { bytes throws(KernelFileError) in
            try ProcStat.parse(bytes, path: statFile.path, throughArgs: throughArgs, withComm: withComm)
        }
    }

    /// Appends the main thread's children to `pids`; false when the file is not held (not asked
    /// for, or no children files on this kernel).
    public func mainThreadChildren(into pids: inout [Int32]) throws(KernelFileError) -> Bool {
        guard let childrenFile else { return false }
        try childrenFile.withContents { bytes throws(KernelFileError) in
            try ProcChildren.parse(bytes, path: childrenFile.path, into: &pids)
        }
        return true
    }
}

/// Looks for `NAME=` at the start of a NUL-separated entry, fed in chunks: memory stays bounded
/// whatever the size of the environment.
struct EnvironmentSearch {
    static let maxValueBytes = 4096
    private let prefix: [UInt8]
    /// How much of the prefix the current entry has matched; -1: this entry does not match.
    private var matched = 0
    private var capturing = false
    private(set) var value: [UInt8]?

    init(name: String) { prefix = Array((name + "=").utf8) }

    /// False once the value is complete (the search can stop).
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in bytes {
            if capturing {
                if b == 0 { return false }
                if value!.count < Self.maxValueBytes { value!.append(b) }
                continue
            }
            if b == 0 { matched = 0; continue }
            guard matched >= 0 else { continue }
            if b == prefix[matched] {
                matched += 1
                if matched == prefix.count { capturing = true; value = [] }
            } else {
                matched = -1
            }
        }
        return true
    }
}
