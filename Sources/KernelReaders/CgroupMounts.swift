/// The cgroup file systems mounted on this host, from /proc/self/mountinfo.
///
/// A mount's `root` is the cgroup that appears at its mount point: "/" on a host, a sub-cgroup
/// inside a container. A pid's cgroup path (from /proc/PID/cgroup) is relative to the hierarchy's
/// root, so the directory is mountPoint + (path − root).
public struct CgroupMount: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A v1 hierarchy with these controllers (e.g. ["cpu", "cpuacct"]), or a named one.
        case v1(controllers: [String])
        case v2
    }

    public var kind: Kind
    public var root: String
    public var mountPoint: String

    /// The directory of `cgroupPath` in this mount, or nil if that cgroup is outside what the
    /// mount shows (a container's view of a cgroup above its root).
    public func directory(of cgroupPath: String) -> String? {
        if root == "/" { return cgroupPath == "/" ? mountPoint : mountPoint + cgroupPath }
        if cgroupPath == root { return mountPoint }
        if cgroupPath.hasPrefix(root + "/") { return mountPoint + cgroupPath.dropFirst(root.count) }
        return nil
    }
}

public enum CgroupMounts {
    /// Parses mountinfo: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS`.
    /// Mount points are rebased from `hostPrefix` onto `cgroupRoot` so fixture trees work.
    public static func parse(_ bytes: [UInt8], path: String, hostPrefix: String = "/sys/fs/cgroup",
                             cgroupRoot: String = "/sys/fs/cgroup") throws(KernelFileError) -> [CgroupMount] {
        var mounts: [CgroupMount] = []
        for line in Parse.lines(bytes) {
            let fields = line.split(separator: ASCII.space).map { unescapeOctal(Array($0)) }
            guard let dash = fields.firstIndex(of: "-") else {
                throw KernelFileError.malformed(path, "no ' - ' separator", line: line)
            }
            guard dash >= 6, fields.count >= dash + 4 else {
                throw KernelFileError.malformed(path, "too few fields", line: line)
            }
            let fsType = fields[dash + 1]
            guard fsType == "cgroup" || fsType == "cgroup2" else { continue }
            let root = fields[3]
            var mountPoint = fields[4]
            if hostPrefix != cgroupRoot {
                if mountPoint == hostPrefix || mountPoint.hasPrefix(hostPrefix + "/") {
                    mountPoint = cgroupRoot + mountPoint.dropFirst(hostPrefix.count)
                } else {
                    mountPoint = cgroupRoot + mountPoint
                }
            }
            if fsType == "cgroup2" {
                mounts.append(CgroupMount(kind: .v2, root: root, mountPoint: mountPoint))
            } else {
                let options = fields[dash + 3].split(separator: ",").map(String.init)
                let known: Set<String> = ["rw", "ro", "noprefix", "xattr", "clone_children", "cpuset_v2_mode",
                                          "nsdelegate", "memory_localevents", "memory_recursiveprot", "favordynmods"]
                let controllers = options.filter { !known.contains($0) && !$0.hasPrefix("release_agent=") }
                mounts.append(CgroupMount(kind: .v1(controllers: controllers), root: root, mountPoint: mountPoint))
            }
        }
        return mounts
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescapeOctal(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x5C, i + 3 < bytes.count {
                let digits = bytes[(i + 1)...(i + 3)]
                if digits.count == 3, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) {
                    let v = digits.reduce(0) { $0 * 8 + Int($1 - 0x30) }
                    if v <= 255 { out.append(UInt8(v)); i += 4; continue }
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One line of /proc/PID/cgroup: `HIERARCHY-ID:CONTROLLERS:PATH` (`0::PATH` for v2).
public struct ProcCgroupEntry: Sendable, Equatable {
    public var hierarchyID: Int
    public var controllers: [String]
    public var path: String

    public init(hierarchyID: Int, controllers: [String], path: String) {
        self.hierarchyID = hierarchyID
        self.controllers = controllers
        self.path = path
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(KernelFileError) -> [ProcCgroupEntry] {
        var entries: [ProcCgroupEntry] = []
        for line in Parse.lines(bytes) {
            // The path may itself contain ':'; split at the first two only.
            guard let first = line.firstIndex(of: ASCII.colon),
                  let second = line[(first + 1)...].firstIndex(of: ASCII.colon) else {
                throw KernelFileError.malformed(path, "expected 'id:controllers:path'", line: line)
            }
            guard let id = Parse.unsigned(line[line.startIndex..<first]), id <= 1 << 20 else {
                throw KernelFileError.malformed(path, "bad hierarchy id", line: line)
            }
            let controllers = String(decoding: line[(first + 1)..<second], as: UTF8.self)
            let cgroupPath = String(decoding: line[(second + 1)...], as: UTF8.self)
            guard cgroupPath.hasPrefix("/") else {
                throw KernelFileError.malformed(path, "cgroup path is not absolute", line: line)
            }
            entries.append(ProcCgroupEntry(
                hierarchyID: Int(id),
                controllers: controllers.isEmpty ? [] : controllers.split(separator: ",").map(String.init),
                path: cgroupPath))
        }
        return entries
    }
}
