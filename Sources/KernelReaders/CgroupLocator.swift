/// Finds the cgroups of a pid: its memory cgroup and its CPU accounting cgroups, on v1, v2 and
/// hybrid hosts. Never assumes that the pid's cgroup is the mount root: a daemon on the host
/// reads other services' cgroups.
public struct CgroupLocation: Sendable, Equatable, CustomStringConvertible {
    public enum Version: Int, Sendable { case v1 = 1, v2 = 2 }

    public var version: Version
    /// The cgroup path as the kernel names it, e.g. /system.slice/drum.service.
    public var path: String
    /// The directory holding its control files.
    public var directory: String
    /// The mount point: the topmost directory of this hierarchy that can be seen.
    public var mountPoint: String

    public init(version: Version, path: String, directory: String, mountPoint: String) {
        self.version = version
        self.path = path
        self.directory = directory
        self.mountPoint = mountPoint
    }

    /// This cgroup and its ancestors up to the mount point, leaf first.
    public var selfAndAncestors: [String] {
        var dirs = [directory]
        var dir = directory
        while dir.count > mountPoint.count, let slash = dir.lastIndex(of: "/") {
            dir = String(dir[..<slash])
            if dir.count < mountPoint.count { break }
            dirs.append(dir)
        }
        return dirs
    }

    /// The cgroup path of one of `selfAndAncestors`.
    public func cgroupPath(ofDirectory dir: String) -> String {
        let depthAbove = directory.count - dir.count
        guard depthAbove > 0 else { return path }
        let trimmed = String(path.dropLast(depthAbove))
        return trimmed.isEmpty ? "/" : trimmed
    }

    public var description: String { "\(path) (cgroup v\(version.rawValue))" }
}

/// The cgroups that hold a process's memory and CPU accounting.
public struct CgroupSet: Sendable, Equatable {
    /// memory.* files (v1 memory controller, or v2 with the memory controller).
    public var memory: Reading<CgroupLocation>
    /// v2: cpu.stat / cpu.max. v1: cpu.stat / cpu.cfs_* (the cpu controller).
    public var cpu: Reading<CgroupLocation>
    /// v1 only: cpuacct.usage (may be the same hierarchy as cpu).
    public var cpuacct: Reading<CgroupLocation>

    public init(memory: Reading<CgroupLocation>, cpu: Reading<CgroupLocation>, cpuacct: Reading<CgroupLocation>) {
        self.memory = memory
        self.cpu = cpu
        self.cpuacct = cpuacct
    }
}

public struct CgroupLocator: Sendable {
    public let paths: KernelPaths
    public let mounts: [CgroupMount]

    public init(paths: KernelPaths = .host) throws(KernelFileError) {
        self.paths = paths
        let mountinfo = try HeldFile.read(paths.selfMountinfo)
        self.mounts = try CgroupMounts.parse(mountinfo, path: paths.selfMountinfo,
                                             hostPrefix: paths.hostCgroupPrefix, cgroupRoot: paths.cgroupRoot)
    }

    public init(paths: KernelPaths, mounts: [CgroupMount]) {
        self.paths = paths
        self.mounts = mounts
    }

    /// The v2 mount, and whether its root offers a controller.
    func v2Mount(offering controller: String) -> CgroupMount? {
        for mount in mounts where mount.kind == .v2 {
            let file = mount.mountPoint + "/cgroup.controllers"
            if let bytes = try? HeldFile.read(file),
               String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
                   .contains(where: { $0 == controller }) {
                return mount
            }
        }
        return nil
    }

    func v1Mount(with controller: String) -> CgroupMount? {
        mounts.first { if case .v1(let c) = $0.kind { return c.contains(controller) } else { return false } }
    }

    /// Locates the cgroups of `pid` from /proc/PID/cgroup.
    public func locate(pid: Int32) throws(KernelFileError) -> CgroupSet {
        let file = paths.proc(pid, "cgroup")
        return locate(entries: try ProcCgroupEntry.parse(HeldFile.read(file), path: file), source: file)
    }

    /// Locates a configured cgroup (a path as /proc/PID/cgroup names it) in every hierarchy.
    public func locate(configuredPath path: String) -> CgroupSet {
        var entries = mounts.compactMap { mount -> ProcCgroupEntry? in
            if case .v1(let c) = mount.kind { return ProcCgroupEntry(hierarchyID: 1, controllers: c, path: path) }
            return nil
        }
        entries.append(ProcCgroupEntry(hierarchyID: 0, controllers: [], path: path))
        return locate(entries: entries, source: "the configured cgroup \(path)")
    }

    public func locate(entries: [ProcCgroupEntry], source: String) -> CgroupSet {
        if mounts.isEmpty {
            let none = Reading<CgroupLocation>.unavailable("no cgroup file system is mounted")
            return CgroupSet(memory: none, cpu: none, cpuacct: none)
        }
        func v1(_ controller: String) -> Reading<CgroupLocation>? {
            guard let entry = entries.first(where: { $0.hierarchyID != 0 && $0.controllers.contains(controller) }) else { return nil }
            guard let mount = v1Mount(with: controller) else {
                return .unavailable("\(source) names a v1 '\(controller)' cgroup but no such hierarchy is mounted")
            }
            guard let dir = mount.directory(of: entry.path) else {
                return .unavailable("cgroup \(entry.path) is outside the '\(controller)' mount at \(mount.mountPoint) (root \(mount.root))")
            }
            return .value(CgroupLocation(version: .v1, path: entry.path, directory: dir, mountPoint: mount.mountPoint))
        }
        func v2(_ controller: String?) -> Reading<CgroupLocation>? {
            guard let entry = entries.first(where: { $0.hierarchyID == 0 }) else { return nil }
            let mount: CgroupMount?
            if let controller { mount = v2Mount(offering: controller) } else { mount = mounts.first { $0.kind == .v2 } }
            guard let mount else { return nil }
            guard let dir = mount.directory(of: entry.path) else {
                return .unavailable("cgroup \(entry.path) is outside the v2 mount at \(mount.mountPoint) (root \(mount.root))")
            }
            return .value(CgroupLocation(version: .v2, path: entry.path, directory: dir, mountPoint: mount.mountPoint))
        }
        // Hybrid hosts: a v1 controller wins, since v2 there lacks it.
        let memory = v1("memory") ?? v2("memory")
            ?? .unavailable("no memory controller in \(source) (neither a v1 memory hierarchy nor v2 with memory)")
        let cpu = v1("cpu") ?? v2(nil) ?? .unavailable("no cpu controller in \(source)")
        let cpuacct = v1("cpuacct") ?? v2(nil) ?? .unavailable("no cpuacct controller in \(source)")
        return CgroupSet(memory: memory, cpu: cpu, cpuacct: cpuacct)
    }
}
