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
    /// Parses mountinfo: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS`,
    /// and returns the cgroup mounts that can be seen (see `visible`).
    /// Mount points are rebased from `hostPrefix` onto `cgroupRoot` so fixture trees work.
    public static func parse(_ bytes: [UInt8], path: String, hostPrefix: String = "/sys/fs/cgroup",
                             cgroupRoot: String = "/sys/fs/cgroup") throws(KernelFileError) -> [CgroupMount] {
        var entries: [Entry] = []
        for line in Parse.lines(bytes) {
            let fields = line.split(separator: ASCII.space).map { unescapeOctal(Array($0)) }
            guard let dash = fields.firstIndex(of: "-") else {
                throw KernelFileError.malformed(path, "no ' - ' separator", line: line)
            }
            guard dash >= 6, fields.count >= dash + 4 else {
                throw KernelFileError.malformed(path, "too few fields", line: line)
            }
            guard let id = Int(fields[0]), let parent = Int(fields[1]) else {
                throw KernelFileError.malformed(path, "mount ids are not numbers", line: line)
            }
            let fsType = fields[dash + 1]
            var mount: CgroupMount?
            if fsType == "cgroup2" {
                mount = CgroupMount(kind: .v2, root: fields[3], mountPoint: fields[4])
            } else if fsType == "cgroup" {
                let options = fields[dash + 3].split(separator: ",").map(String.init)
                let known: Set<String> = ["rw", "ro", "noprefix", "xattr", "clone_children", "cpuset_v2_mode",
                                          "nsdelegate", "memory_localevents", "memory_recursiveprot", "favordynmods"]
                let controllers = options.filter { !known.contains($0) && !$0.hasPrefix("release_agent=") }
                mount = CgroupMount(kind: .v1(controllers: controllers), root: fields[3], mountPoint: fields[4])
            }
            entries.append(Entry(id: id, parent: parent, mountPoint: fields[4], cgroup: mount))
        }
        return visible(entries).map { mount in
            var mount = mount
            if hostPrefix != cgroupRoot {
                if mount.mountPoint == hostPrefix || mount.mountPoint.hasPrefix(hostPrefix + "/") {
                    mount.mountPoint = cgroupRoot + mount.mountPoint.dropFirst(hostPrefix.count)
                } else {
                    mount.mountPoint = cgroupRoot + mount.mountPoint
                }
            }
            return mount
        }
    }

    /// One mountinfo line: what deciding visibility needs, and the cgroup mount if it is one.
    struct Entry {
        var id: Int
        var parent: Int
        var mountPoint: String
        var cgroup: CgroupMount?
    }

    /// The cgroup mounts not covered by a later mount. mountinfo lists mounts in the order they
    /// were made, shadowed ones included: a container runtime that mounts a fresh cgroup file
    /// system (or a tmpfs holding one) over the inherited one leaves both listed, and only the last
    /// is what a path resolves to. A later mount at the same point or above it covers a mount,
    /// unless it is one the mount itself sits on (its parent chain).
    static func visible(_ entries: [Entry]) -> [CgroupMount] {
        var parentOf: [Int: Int] = [:]
        for e in entries { parentOf[e.id] = e.parent }
        func sitsOn(_ mount: Entry, _ other: Int) -> Bool {
            var id = mount.parent
            for _ in 0..<entries.count {
                if id == other { return true }
                guard let next = parentOf[id], next != id else { return false }
                id = next
            }
            return false
        }
        func covers(_ above: String, _ below: String) -> Bool {
            above == below || above == "/" || below.hasPrefix(above + "/")
        }
        var mounts: [CgroupMount] = []
        for (i, entry) in entries.enumerated() {
            guard let mount = entry.cgroup else { continue }
            let covered = entries[(i + 1)...].contains { later in
                covers(later.mountPoint, entry.mountPoint) && !sitsOn(entry, later.id)
            }
            if !covered { mounts.append(mount) }
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
