import Foundation
import Testing
@testable import KernelReaders

@Suite struct CgroupLocatorTests {
    @Test func hybridHostUsesV1MemoryAndCPU() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", FixtureTree.hybridMountinfo)
        try t.write("sys/fs/cgroup/unified/cgroup.controllers", "\n") // v2 without memory
        try t.write("proc/42/cgroup", "4:memory:/svc/drum\n2:cpuacct:/svc\n1:cpu:/svc\n0::/svc/drum\n")
        let set = try CgroupLocator(paths: t.paths).locate(pid: 42)
        let memory = try #require(set.memory.value)
        #expect(memory.version == .v1)
        #expect(memory.path == "/svc/drum")
        #expect(memory.directory == t.path("sys/fs/cgroup/memory/svc/drum"))
        #expect(memory.selfAndAncestors == [t.path("sys/fs/cgroup/memory/svc/drum"), t.path("sys/fs/cgroup/memory/svc"), t.path("sys/fs/cgroup/memory")])
        #expect(set.cpu.value?.directory == t.path("sys/fs/cgroup/cpu/svc"))
        #expect(set.cpuacct.value?.directory == t.path("sys/fs/cgroup/cpuacct/svc"))
    }

    @Test func pureV2() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", FixtureTree.v2Mountinfo)
        try t.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        try t.write("proc/42/cgroup", "0::/system.slice/drum.service\n")
        let set = try CgroupLocator(paths: t.paths).locate(pid: 42)
        #expect(set.memory.value?.version == .v2)
        #expect(set.memory.value?.directory == t.path("sys/fs/cgroup/system.slice/drum.service"))
        #expect(set.cpu.value?.version == .v2)
    }

    @Test func containerViewRootIsNotTheHostRoot() throws {
        let mi = "35 31 0:32 /kubepods/pod1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        let mount = try #require(try CgroupMounts.parse(Array(mi.utf8), path: "mi").first)
        #expect(mount.directory(of: "/kubepods/pod1/c1") == "/sys/fs/cgroup/memory/c1")
        #expect(mount.directory(of: "/kubepods/pod1") == "/sys/fs/cgroup/memory")
        #expect(mount.directory(of: "/other") == nil)
    }

    /// mountinfo inside `unshare --cgroup --pid --mount --fork` after a container runtime's
    /// setup (tmpfs over /sys/fs/cgroup, a fresh v1 memory mount in it): the inherited mounts are
    /// still listed, the memory one with root `/..` (above the namespace), then the new ones.
    static let containerMountinfo = """
    610 609 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
    611 610 0:29 /.. /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
    612 610 0:30 /.. /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
    614 610 0:32 /.. /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    620 610 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
    700 610 0:80 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw
    701 700 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory

    """

    @Test func theLastMountAtAMountPointIsTheVisibleOne() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", Self.containerMountinfo)
        try t.write("proc/42/cgroup", "4:memory:/\n2:cpuacct:/..\n1:cpu:/..\n0::/\n")
        let locator = try CgroupLocator(paths: t.paths)
        #expect(locator.mounts == [CgroupMount(kind: .v1(controllers: ["memory"]), root: "/", mountPoint: t.path("sys/fs/cgroup/memory"))],
                "the mounts under the covered tmpfs are hidden too")
        let set = try locator.locate(pid: 42)
        let memory = try #require(set.memory.value, "\(set.memory)")
        #expect(memory.directory == t.path("sys/fs/cgroup/memory"))
        #expect(memory.path == "/")
        #expect(set.cpu.reason?.contains("no such hierarchy is mounted") == true, "\(set.cpu)")
    }

    @Test func aMountOnTopOfAnotherDoesNotHideIt() throws {
        // 40 is listed after 35 but 35 sits on it (moved or re-listed): 35 stays visible; a mount
        // below a cgroup mount (41) hides nothing above it.
        let mi = """
        35 40 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
        40 1 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw
        41 35 0:90 / /sys/fs/cgroup/memory/x rw - tmpfs tmpfs rw

        """
        let mounts = try CgroupMounts.parse(Array(mi.utf8), path: "mi")
        #expect(mounts.map(\.mountPoint) == ["/sys/fs/cgroup/memory"])
    }

    /// A cgroup namespace on a v2 host: `0::/` and a mount whose root is `/` show the container's
    /// own cgroup; memory.max there is the limit, nothing above it is guessed.
    @Test func cgroupNamespaceOnV2UsesTheContainersRoot() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", "900 800 0:40 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
        try t.write("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n")
        try t.write("sys/fs/cgroup/memory.max", "314572800\n")
        try t.write("sys/fs/cgroup/memory.current", "60817408\n")
        try t.write("sys/fs/cgroup/cpu.max", "max 100000\n")
        try t.write("proc/42/cgroup", "0::/\n")
        let set = try CgroupLocator(paths: t.paths).locate(pid: 42)
        let memory = try #require(set.memory.value)
        #expect(memory.directory == t.path("sys/fs/cgroup") && memory.selfAndAncestors == [t.path("sys/fs/cgroup")])
        let r = CgroupMemory.reader(for: memory).read(hostTotalBytes: 24 << 30)
        #expect(r.limit.value == EffectiveLimit(bytes: 300 << 20, source: .cgroup("/")))
        #expect(r.current == .value(60817408))
    }

    @Test func configuredPathIsLocatedInEveryHierarchy() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", FixtureTree.hybridMountinfo)
        try t.write("sys/fs/cgroup/unified/cgroup.controllers", "\n")
        let set = try CgroupLocator(paths: t.paths).locate(configuredPath: "/svc")
        #expect(set.memory.value?.directory == t.path("sys/fs/cgroup/memory/svc"))
        #expect(set.cpu.value?.directory == t.path("sys/fs/cgroup/cpu/svc"))
        #expect(set.cpuacct.value?.directory == t.path("sys/fs/cgroup/cpuacct/svc"))
    }

    @Test func noCgroupAtAll() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n")
        try t.write("proc/42/cgroup", "0::/\n")
        let set = try CgroupLocator(paths: t.paths).locate(pid: 42)
        #expect(set.memory.reason?.contains("no cgroup file system") == true)
    }

    @Test func v1ControllerNotMounted() throws {
        let t = try FixtureTree()
        try t.write("proc/self/mountinfo", "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
        try t.write("sys/fs/cgroup/unified/cgroup.controllers", "cpu\n")
        try t.write("proc/42/cgroup", "4:memory:/a\n0::/a\n")
        let set = try CgroupLocator(paths: t.paths).locate(pid: 42)
        #expect(set.memory.reason?.contains("no such hierarchy is mounted") == true)
    }
}

@Suite struct CgroupMemoryFixtureTests {
    /// v1 tree /svc/drum with a limit on /svc (the ancestor), unlimited elsewhere.
    func v1Tree(leafLimit: String = "9223372036854771712\n") throws -> (FixtureTree, CgroupLocation) {
        let t = try FixtureTree()
        let base = "sys/fs/cgroup/memory"
        for dir in [base, base + "/svc"] {
            try t.write(dir + "/memory.limit_in_bytes", dir.hasSuffix("svc") ? "1073741824\n" : "9223372036854771712\n")
        }
        let leaf = base + "/svc/drum"
        try t.write(leaf + "/memory.limit_in_bytes", leafLimit)
        try t.write(leaf + "/memory.usage_in_bytes", "104857600\n")
        try t.write(leaf + "/memory.max_usage_in_bytes", "209715200\n")
        try t.write(leaf + "/memory.stat", "cache 1\nrss 2\ntotal_inactive_file 4857600\nhierarchical_memory_limit 1073741824\n")
        try t.write(leaf + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
        try t.write(leaf + "/memory.failcnt", "17\n")
        let loc = CgroupLocation(version: .v1, path: "/svc/drum", directory: t.path(leaf), mountPoint: t.path(base))
        return (t, loc)
    }

    @Test func v1LimitOnAncestor() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.current == .value(104857600))
        #expect(r.peak == .value(209715200))
        #expect(r.limit.value == EffectiveLimit(bytes: 1 << 30, source: .cgroup("/svc")))
        #expect(r.workingSet == .value(100_000_000))
        #expect(r.oomKills == .value(3))
        #expect(r.limitHits == .value(17))
        #expect(r.pressureSomeAvg10.reason != nil)
    }

    @Test func v1LeafLimitSmaller() throws {
        let (t, loc) = try v1Tree(leafLimit: "536870912\n")
        defer { withExtendedLifetime(t) {} }
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value == EffectiveLimit(bytes: 512 << 20, source: .cgroup("/svc/drum")))
    }

    @Test func unlimitedEverywhereIsHostRAM() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/memory.limit_in_bytes", "9223372036854775807\n")
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.stat", "total_inactive_file 0\nhierarchical_memory_limit 9223372036854771712\n")
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value == EffectiveLimit(bytes: 8 << 30, source: .host))
    }

    @Test func limitAboveTheVisibleMountComesFromHierarchicalLimit() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/memory.limit_in_bytes", "9223372036854771712\n")
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.stat", "total_inactive_file 0\nhierarchical_memory_limit 268435456\n")
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value?.bytes == 256 << 20)
        #expect(r.limit.value?.source == .aboveMount(t.path("sys/fs/cgroup/memory")))
    }

    @Test func workingSetClampsAtZero() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.stat", "total_inactive_file 999999999999\nhierarchical_memory_limit 1073741824\n")
        #expect(CgroupMemory.reader(for: loc).read(hostTotalBytes: nil).workingSet == .value(0))
    }

    @Test(arguments: ["", "garbage\n", "-5\n", "99999999999999999999999\n", "12 34\n", "\0\0\0", "0x10\n"])
    func malformedUsageIsUnavailableWithFileAndContent(_ content: String) throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.usage_in_bytes", content)
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: nil)
        let reason = try #require(r.current.reason)
        #expect(reason.contains("memory.usage_in_bytes"))
        #expect(r.workingSet.value == nil, "working set must not be computed from an unreadable usage")
        #expect(r.peak == .value(209715200), "other files are still read")
    }

    @Test func noTrailingNewlineIsFine() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.usage_in_bytes", "4096")
        #expect(CgroupMemory.reader(for: loc).read(hostTotalBytes: nil).current == .value(4096))
    }

    @Test func malformedStatLineNamesTheLine() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.stat", "cache 1\ntotal_inactive_file lots\n")
        let reason = try #require(CgroupMemory.reader(for: loc).read(hostTotalBytes: nil).workingSet.reason)
        #expect(reason.contains("memory.stat") && reason.contains("total_inactive_file lots"))
    }

    /// Only the lines the reader uses are parsed (memory.stat has ~40 and is read every tick): a
    /// line it does not use that is not `key number` no longer makes the memory figures unavailable.
    @Test func statLinesNotUsedAreNotParsed() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.usage_in_bytes", "5000000")
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.stat",
                    "cache 1\nsomething new\ntotal_inactive_file 1000000\nhierarchical_memory_limit 1073741824\n")
        #expect(CgroupMemory.reader(for: loc).read(hostTotalBytes: nil).workingSet == .value(4_000_000))
    }

    @Test func missingFileIsUnavailableNotZero() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try FileManager.default.removeItem(atPath: t.path("sys/fs/cgroup/memory/svc/drum/memory.oom_control"))
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: nil)
        #expect(r.oomKills.reason?.contains("memory.oom_control") == true)
    }

    func v2Tree() throws -> (FixtureTree, CgroupLocation) {
        let t = try FixtureTree()
        let base = "sys/fs/cgroup"
        try t.write(base + "/cgroup.controllers", "memory cpu\n")
        try t.write(base + "/system.slice/memory.max", "805306368\n")
        let leaf = base + "/system.slice/drum.service"
        try t.write(leaf + "/memory.max", "max\n")
        try t.write(leaf + "/memory.current", "52428800\n")
        try t.write(leaf + "/memory.peak", "62914560\n")
        try t.write(leaf + "/memory.stat", "anon 1\ninactive_file 2428800\nactive_file 5\n")
        try t.write(leaf + "/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n")
        try t.write(leaf + "/memory.pressure", "some avg10=0.50 avg60=0.10 avg300=0.00 total=100\nfull avg10=0.20 avg60=0.00 avg300=0.00 total=10\n")
        let loc = CgroupLocation(version: .v2, path: "/system.slice/drum.service", directory: t.path(leaf), mountPoint: t.path(base))
        return (t, loc)
    }

    @Test func v2LimitOnParentSlice() throws {
        let (t, loc) = try v2Tree()
        defer { withExtendedLifetime(t) {} }
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.current == .value(52428800))
        #expect(r.peak == .value(62914560))
        #expect(r.limit.value == EffectiveLimit(bytes: 805306368, source: .cgroup("/system.slice")))
        #expect(r.workingSet == .value(50_000_000))
        #expect(r.oomKills == .value(1))
        // memory.events: `max 4` is the limit being hit; `oom 2` the OOM killer being invoked.
        #expect(r.limitHits == .value(4))
        #expect(r.oomEvents == .value(2))
        #expect(r.pressureSomeAvg10 == .value(0.5))
        #expect(r.pressureFullAvg10 == .value(0.2))
        #expect(r.pressureSomeTotalMicros == .value(100))
        #expect(r.pressureFullTotalMicros == .value(10))
    }

    @Test func v2WithoutMemoryPeakFallsBackAndSaysWhy() throws {
        let (t, loc) = try v2Tree()
        defer { withExtendedLifetime(t) {} }
        try FileManager.default.removeItem(atPath: t.path("sys/fs/cgroup/system.slice/drum.service/memory.peak"))
        let reader = CgroupMemory.reader(for: loc)
        let first = reader.read(hostTotalBytes: nil)
        #expect(first.peak.reason?.contains("memory.peak") == true)
        #expect(first.intervalPeak.value == IntervalPeak(bytes: 52428800, exact: false))
    }

    @Test func v2GarbageMaxMakesTheLimitUnavailableNamingTheFile() throws {
        let (t, loc) = try v2Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/system.slice/drum.service/memory.max", "maximum\n")
        // Not the ancestor's 768 MiB: the leaf's limit is unknown and might be smaller.
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        let reason = try #require(r.limit.reason, "got \(r.limit)")
        #expect(reason.contains("system.slice/drum.service/memory.max") && reason.contains("maximum"))
        #expect(r.current == .value(52428800), "the other figures are still read")
    }

    @Test func v2LevelWithoutTheMemoryControllerHasNoLimitOfItsOwn() throws {
        let (t, loc) = try v2Tree()
        defer { withExtendedLifetime(t) {} }
        try FileManager.default.removeItem(atPath: t.path("sys/fs/cgroup/system.slice/drum.service/memory.max"))
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value == EffectiveLimit(bytes: 805306368, source: .cgroup("/system.slice")))
    }

    @Test(arguments: ["garbage\n", "", "-1\n"])
    func v1MalformedLeafLimitMakesTheLimitUnavailableNamingTheFile(_ content: String) throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.limit_in_bytes", content)
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        let reason = try #require(r.limit.reason, "got \(r.limit): an unreadable leaf limit was dropped from the minimum")
        #expect(reason.contains("svc/drum/memory.limit_in_bytes"))
    }

    @Test func v1UnreadableAncestorLimitMakesTheLimitUnavailable() throws {
        let (t, loc) = try v1Tree(leafLimit: "536870912\n")
        defer { withExtendedLifetime(t) {} }
        try FileManager.default.removeItem(atPath: t.path("sys/fs/cgroup/memory/svc/memory.limit_in_bytes"))
        let reason = try #require(CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30).limit.reason)
        #expect(reason.contains("memory/svc/memory.limit_in_bytes"))
    }

    @Test func v1WithoutHierarchicalLimitTheLimitIsUnavailable() throws {
        let (t, loc) = try v1Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/memory/svc/drum/memory.stat", "total_inactive_file 0\n")
        // A limit above the visible part of the hierarchy shows only there: without it the
        // smallest visible limit is not known to be the real one.
        let reason = try #require(CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30).limit.reason)
        #expect(reason.contains("hierarchical_memory_limit"))
    }

    /// A cgroup whose directory is gone (removed, or never there) has no limit to report: not
    /// "unlimited, so the host's RAM".
    @Test(arguments: [CgroupLocation.Version.v1, .v2])
    func removedCgroupHasNoLimitNotTheHostsRAM(_ version: CgroupLocation.Version) throws {
        let (t, loc) = try version == .v1 ? v1Tree() : v2Tree()
        defer { withExtendedLifetime(t) {} }
        var gone = loc
        gone.directory += "/removed"
        gone.path += "/removed"
        let r = CgroupMemory.reader(for: gone).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value == nil, "got \(r.limit)")
        #expect(r.limit.reason?.contains("/removed/memory.") == true)
        #expect(r.current.reason != nil)
    }

    /// In a cgroup namespace the mount shows the container's cgroup as its root: its memory.max
    /// is the limit (only the host's real root cgroup lacks the file).
    @Test func v2LimitAtTheTopOfAContainersMountCounts() throws {
        let t = try FixtureTree()
        let base = "sys/fs/cgroup"
        try t.write(base + "/memory.max", "314572800\n")
        try t.write(base + "/memory.current", "60817408\n")
        let loc = CgroupLocation(version: .v2, path: "/", directory: t.path(base), mountPoint: t.path(base))
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value == EffectiveLimit(bytes: 300 << 20, source: .cgroup("/")))
        #expect(r.current == .value(60817408))
    }
}

@Suite struct IntervalPeakTests {
    @Test func lifetimePeakThatRoseIsExact() {
        var p = IntervalPeakFromLifetime()
        _ = p.next(current: 10, lifetimePeak: 100)
        #expect(p.next(current: 20, lifetimePeak: 150) == .value(IntervalPeak(bytes: 150, exact: true)))
        #expect(p.next(current: 30, lifetimePeak: 150) == .value(IntervalPeak(bytes: 30, exact: false)))
        #expect(p.next(current: 5, lifetimePeak: 150) == .value(IntervalPeak(bytes: 30, exact: false)))
    }
}

@Suite struct CgroupCPUFixtureTests {
    /// A v1 cpu hierarchy: no quota at the root, `quotaUs` per 100 ms on /svc.
    func v1CPUTree(svcQuotaUs quotaUs: Int) throws -> FixtureTree {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n")
        try t.write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n")
        try t.write("sys/fs/cgroup/cpu/svc/cpu.cfs_quota_us", "\(quotaUs)\n")
        try t.write("sys/fs/cgroup/cpu/svc/cpu.cfs_period_us", "100000\n")
        return t
    }

    @Test func v1QuotaAndThrottling() throws {
        let t = try v1CPUTree(svcQuotaUs: 150000)
        try t.write("sys/fs/cgroup/cpu/svc/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n")
        try t.write("sys/fs/cgroup/cpuacct/svc/cpuacct.usage", "123456789\n")
        let cpu = CgroupLocation(version: .v1, path: "/svc", directory: t.path("sys/fs/cgroup/cpu/svc"), mountPoint: t.path("sys/fs/cgroup/cpu"))
        let acct = CgroupLocation(version: .v1, path: "/svc", directory: t.path("sys/fs/cgroup/cpuacct/svc"), mountPoint: t.path("sys/fs/cgroup/cpuacct"))
        let r = try CgroupCPUFixtureTests.read(CgroupSet(memory: .unavailable("-"), cpu: .value(cpu), cpuacct: .value(acct)))
        #expect(r.usageNanos == .value(123456789))
        #expect(r.periods == .value(10))
        #expect(r.throttledPeriods == .value(4))
        #expect(r.limitCores == .value(1.5))
    }

    @Test func v2MaxAndQuota() throws {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/a/cpu.max", "50000 100000\n")
        try t.write("sys/fs/cgroup/a/b/cpu.max", "max 100000\n")
        try t.write("sys/fs/cgroup/a/b/cpu.stat", "usage_usec 2000\nuser_usec 1000\nsystem_usec 1000\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n")
        let loc = CgroupLocation(version: .v2, path: "/a/b", directory: t.path("sys/fs/cgroup/a/b"), mountPoint: t.path("sys/fs/cgroup"))
        let r = try CgroupCPUFixtureTests.read(CgroupSet(memory: .value(loc), cpu: .value(loc), cpuacct: .value(loc)))
        #expect(r.usageNanos == .value(2_000_000))
        #expect(r.throttledNanos == .value(7000))
        #expect(r.limitCores == .value(0.5))
    }

    static func read(_ set: CgroupSet) throws -> CPUReading {
        try #require(CgroupCPU.reader(for: set).value).read()
    }

    @Test func v1UnreadableQuotaMakesTheLimitUnavailable() throws {
        let t = try v1CPUTree(svcQuotaUs: 50000)
        try t.write("sys/fs/cgroup/cpu/svc/drum/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
        // No cpu.cfs_quota_us at the leaf: not "no quota there", an unknown limit.
        let loc = CgroupLocation(version: .v1, path: "/svc/drum", directory: t.path("sys/fs/cgroup/cpu/svc/drum"), mountPoint: t.path("sys/fs/cgroup/cpu"))
        let r = try Self.read(CgroupSet(memory: .unavailable("-"), cpu: .value(loc), cpuacct: .value(loc)))
        let reason = try #require(r.limitCores.reason, "got \(r.limitCores)")
        #expect(reason.contains("svc/drum/cpu.cfs_quota_us"))
    }

    /// On v2 cpu.stat is always there but cpu.max only where the parent enables the cpu
    /// controller: a level without it has no quota of its own.
    @Test func v2LeafWithoutTheCPUControllerTakesItsParentsQuota() throws {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/a/cpu.max", "50000 100000\n")
        try t.write("sys/fs/cgroup/a/b/cpu.stat", "usage_usec 1\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
        let loc = CgroupLocation(version: .v2, path: "/a/b", directory: t.path("sys/fs/cgroup/a/b"), mountPoint: t.path("sys/fs/cgroup"))
        #expect(try Self.read(CgroupSet(memory: .value(loc), cpu: .value(loc), cpuacct: .value(loc))).limitCores == .value(0.5))
    }

    @Test func v2QuotaAtTheTopOfAContainersMountCounts() throws {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/cpu.max", "150000 100000\n")
        try t.write("sys/fs/cgroup/cpu.stat", "usage_usec 1\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
        let loc = CgroupLocation(version: .v2, path: "/", directory: t.path("sys/fs/cgroup"), mountPoint: t.path("sys/fs/cgroup"))
        #expect(try Self.read(CgroupSet(memory: .value(loc), cpu: .value(loc), cpuacct: .value(loc))).limitCores == .value(1.5))
    }

    @Test func noCPUCgroupIsNoReaderWithTheReason() {
        let set = CgroupSet(memory: .unavailable("m"), cpu: .unavailable("no cpu controller in x"), cpuacct: .unavailable("a"))
        #expect(CgroupCPU.reader(for: set).reason == "no cpu controller in x")
    }

    @Test func v2MalformedMaxIsReported() throws {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/a/cpu.max", "lots\n")
        try t.write("sys/fs/cgroup/a/cpu.stat", "usage_usec 1\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
        let loc = CgroupLocation(version: .v2, path: "/a", directory: t.path("sys/fs/cgroup/a"), mountPoint: t.path("sys/fs/cgroup"))
        let r = try CgroupCPUFixtureTests.read(CgroupSet(memory: .value(loc), cpu: .value(loc), cpuacct: .value(loc)))
        #expect(r.limitCores.reason?.contains("cpu.max") == true)
    }
}
