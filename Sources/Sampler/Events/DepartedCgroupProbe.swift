import KernelReaders
import SampleModel

/// The OOM-kill count of the cgroup the target has just left, read once.
public struct DepartedCgroup: Sendable, Equatable {
    public var path: String
    public var oomKills: UInt64

    public init(path: String, oomKills: UInt64) {
        self.path = path
        self.oomKills = oomKills
    }
}

/// The one kernel read events add, and only when the target goes or moves: when DRUM's root
/// itself is OOM-killed (werkzeug: the root is the server) and its parent reaps it before the
/// next tick, that sample has no target, and no cgroup is read for it; the kill would be seen
/// by nobody. So the OOM-kill counter file of the cgroup the target is in is held open (opened
/// when the target enters a cgroup, no read per tick), and read once on the sample where the
/// target is lost or in another cgroup. Per tick: one string comparison.
public final class DepartedCgroupProbe {
    private let mounts: [CgroupMount]
    /// A struct, not an optional tuple (see `CgroupWatcher.Followed`): looked at every tick.
    private struct Held {
        var path: String
        var file: Reading<HeldFile>
    }
    private var held: Held?

    public init(paths: KernelPaths = .host) {
        mounts = (try? CgroupLocator(paths: paths).mounts) ?? []
    }

    /// Call once per sample, in order; answers the departed cgroup's count on the sample where
    /// the target left it.
    public func look(_ detail: SampleDetail) -> DepartedCgroup? {
        let current = detail.target.found ? detail.cgroup : nil
        if let held, held.path == current?.path { return nil }
        var departed: DepartedCgroup?
        if let held, case .value(let file) = held.file, let kills = Self.oomKills(file) {
            departed = DepartedCgroup(path: held.path, oomKills: kills)
        }
        held = current.map { Held(path: $0.path, file: counterFile($0)) }
        return departed
    }

    private func counterFile(_ cgroup: SampleDetail.Cgroup) -> Reading<HeldFile> {
        let mount = mounts.last { mount in
            switch mount.kind {
            case .v1(let controllers): cgroup.version == 1 && controllers.contains("memory")
            case .v2: cgroup.version == 2
            }
        }
        guard let directory = mount?.directory(of: cgroup.path) else { return .unavailable("no memory cgroup mount shows \(cgroup.path)") }
        let file = directory + (cgroup.version == 1 ? "/memory.oom_control" : "/memory.events")
        do { return .value(try HeldFile(path: file)) } catch { return .unavailable("\(error)") }
    }

    /// `oom_kill N` from memory.oom_control (v1) or memory.events (v2).
    static func oomKills(_ file: HeldFile) -> UInt64? {
        try? file.withContents { bytes throws(KernelFileError) -> UInt64? in
            try Parse.values(of: ["oom_kill"], in: bytes, path: file.path)[0]
        }
    }
}
