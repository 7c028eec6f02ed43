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

    @Test func v2GarbageMax() throws {
        let (t, loc) = try v2Tree()
        defer { withExtendedLifetime(t) {} }
        try t.write("sys/fs/cgroup/system.slice/drum.service/memory.max", "maximum\n")
        // An unreadable level must not make a smaller limit elsewhere disappear.
        let r = CgroupMemory.reader(for: loc).read(hostTotalBytes: 8 << 30)
        #expect(r.limit.value?.source == .cgroup("/system.slice"))
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
    @Test func v1QuotaAndThrottling() throws {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n")
        try t.write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n")
        try t.write("sys/fs/cgroup/cpu/svc/cpu.cfs_quota_us", "150000\n")
        try t.write("sys/fs/cgroup/cpu/svc/cpu.cfs_period_us", "100000\n")
        try t.write("sys/fs/cgroup/cpu/svc/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n")
        try t.write("sys/fs/cgroup/cpuacct/svc/cpuacct.usage", "123456789\n")
        let cpu = CgroupLocation(version: .v1, path: "/svc", directory: t.path("sys/fs/cgroup/cpu/svc"), mountPoint: t.path("sys/fs/cgroup/cpu"))
        let acct = CgroupLocation(version: .v1, path: "/svc", directory: t.path("sys/fs/cgroup/cpuacct/svc"), mountPoint: t.path("sys/fs/cgroup/cpuacct"))
        let r = CgroupCPUReader(cgroups: CgroupSet(memory: .unavailable("-"), cpu: .value(cpu), cpuacct: .value(acct))).read()
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
        let r = CgroupCPUReader(cgroups: CgroupSet(memory: .value(loc), cpu: .value(loc), cpuacct: .value(loc))).read()
        #expect(r.usageNanos == .value(2_000_000))
        #expect(r.throttledNanos == .value(7000))
        #expect(r.limitCores == .value(0.5))
    }

    @Test func v2MalformedMaxIsReported() throws {
        let t = try FixtureTree()
        try t.write("sys/fs/cgroup/a/cpu.max", "lots\n")
        try t.write("sys/fs/cgroup/a/cpu.stat", "usage_usec 1\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
        let loc = CgroupLocation(version: .v2, path: "/a", directory: t.path("sys/fs/cgroup/a"), mountPoint: t.path("sys/fs/cgroup"))
        let r = CgroupCPUReader(cgroups: CgroupSet(memory: .value(loc), cpu: .value(loc), cpuacct: .value(loc))).read()
        #expect(r.limitCores.reason?.contains("cpu.max") == true)
    }
}
