import Foundation
import Logging
import Synchronization
import Testing
import TestSupport
@testable import KernelReaders
import SampleModel
@testable import Sampler

/// Drives a CgroupWatcher as the sampler does, one tick per call, on a clock the test moves
/// (ticks 100 ms apart), and keeps what it logs.
final class WatcherDriver {
    let watcher: CgroupWatcher
    let log = CapturedLog()
    var now: UInt64 = 1_000_000_000_000
    var ticks = 0
    var message = "no DRUM process found (looking for `drum server`, DRUM's gunicorn or -m datarobot_drum)"

    static let tickNanos: UInt64 = 100_000_000

    init(paths: KernelPaths = .host, override: String? = nil) throws {
        let log = self.log
        watcher = CgroupWatcher(locator: try CgroupLocator(paths: paths), override: override,
                                logger: log.logger())
    }

    /// One tick watching `pid` (nil: no target).
    func tick(_ pid: Int32?, generation: UInt32 = 1) -> (MetricValues, SampleDetail) {
        now += Self.tickNanos
        ticks += 1
        watcher.follow(targetPid: pid, generation: generation, now: now)
        var values = MetricValues()
        var detail = SampleDetail(target: SampleDetail.Target(found: pid != nil, rootPid: pid, generation: generation,
                                                              processCount: pid == nil ? 0 : 1, message: pid == nil ? message : nil))
        detail.hostTotalBytes = 24 << 30
        watcher.read(&values, &detail, now: now)
        return (values, detail)
    }

    /// Ticks until `condition` holds, at most `limit` ticks; returns how many it took (nil: never).
    func ticks(upTo limit: Int, _ pid: Int32?, until condition: (MetricValues, SampleDetail) -> Bool) -> Int? {
        for n in 1...limit {
            let (v, d) = tick(pid)
            if condition(v, d) { return n }
        }
        return nil
    }
}

/// A hybrid host's cgroup tree (v1 memory, cpu, cpuacct) and a /proc/42/cgroup, in a temporary
/// directory, for the watcher's rare cases on any host and as any user.
final class HybridCgroupFixture {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("drum-monitor-watcher-\(UUID().uuidString)").path
    var paths: KernelPaths { KernelPaths(procRoot: root + "/proc", cgroupRoot: root + "/sys/fs/cgroup") }
    static let pid: Int32 = 42

    init() throws {
        try write("proc/self/mountinfo", """
        31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw
        32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory

        """)
        try cgroup("", limit: 9_223_372_036_854_771_712, quotaUs: -1, usage: 1 << 30)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: root + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// A cgroup (path "" is the root) in all three hierarchies with these figures.
    func cgroup(_ path: String, limit: UInt64, quotaUs: Int64, usage: UInt64) throws {
        let memory = "sys/fs/cgroup/memory\(path)/", cpu = "sys/fs/cgroup/cpu\(path)/"
        try write(memory + "memory.limit_in_bytes", "\(limit)\n")
        try write(memory + "memory.usage_in_bytes", "\(usage)\n")
        try write(memory + "memory.max_usage_in_bytes", "\(usage)\n")
        try write(memory + "memory.stat", "total_inactive_file 0\nhierarchical_memory_limit \(limit)\n")
        try write(memory + "memory.oom_control", "oom_kill 0\n")
        try write(memory + "memory.failcnt", "0\n")
        try write(cpu + "cpu.cfs_quota_us", "\(quotaUs)\n")
        try write(cpu + "cpu.cfs_period_us", "100000\n")
        try write(cpu + "cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
        try write("sys/fs/cgroup/cpuacct\(path)/cpuacct.usage", "1000\n")
    }

    /// What /proc/42/cgroup says: the target is in `memory` and `cpu` (cpu and cpuacct).
    func place(memory: String, cpu: String) throws {
        try write("proc/42/cgroup", "4:memory:\(memory)\n2:cpuacct:\(cpu)\n1:cpu:\(cpu)\n0::/\n")
    }
}

@Suite struct CgroupWatcherFixtureTests {
    /// Issue 11 item 6: without a target, no cgroup stands in for it (not the daemon's own).
    @Test func withoutATargetEveryCgroupFigureIsAbsentWithTheTrackersReason() throws {
        let f = try HybridCgroupFixture()
        try f.cgroup("/svc", limit: 200 << 20, quotaUs: 50000, usage: 10 << 20)
        try f.place(memory: "/svc", cpu: "/svc")
        let driver = try WatcherDriver(paths: f.paths)
        _ = driver.tick(HybridCgroupFixture.pid)
        driver.message = "DRUM process 42 exited; looking for it again"
        let (values, detail) = driver.tick(nil)
        #expect(detail.cgroup == nil)
        // Every metric but the host's and the tree's comes from the cgroup (a list kept apart from
        // the watcher's own, so a metric the watcher forgets is caught).
        let notFromTheCgroup: Set<Metric> = [.hostAvailable, .treeRSS, .treeCPU, .processCount]
        for metric in Metric.allCases where !notFromTheCgroup.contains(metric) {
            #expect(values[metric] == nil, "\(metric)")
            #expect(detail.unavailable[metric] == driver.message, "\(metric)")
        }
    }

    @Test func withoutATargetTheConfiguredCgroupIsWatched() throws {
        let f = try HybridCgroupFixture()
        try f.cgroup("/svc", limit: 200 << 20, quotaUs: 50000, usage: 10 << 20)
        let driver = try WatcherDriver(paths: f.paths, override: "/svc")
        let (values, detail) = driver.tick(nil)
        #expect(detail.cgroup?.path == "/svc")
        #expect(values[.memoryLimit] == Double(200 << 20) && values[.memoryCurrent] == Double(10 << 20))
        #expect(values[.cpuLimit] == 0.5)
    }

    /// Issue 11 item 18: a target moved to another cgroup is followed within a second (10 ticks
    /// at 100 ms), memory and CPU alike, and the move is logged. The check is once a second, not
    /// on every tick.
    @Test func aTargetMovedToAnotherCgroupIsFollowedWithinASecond() throws {
        let f = try HybridCgroupFixture()
        try f.cgroup("/A", limit: 200 << 20, quotaUs: -1, usage: 10 << 20)
        try f.cgroup("/B", limit: 100 << 20, quotaUs: 50000, usage: 20 << 20)
        try f.place(memory: "/A", cpu: "/A")
        let driver = try WatcherDriver(paths: f.paths)
        let pid = HybridCgroupFixture.pid
        #expect(driver.tick(pid).1.cgroup?.path == "/A")

        try f.place(memory: "/B", cpu: "/A")
        let n = driver.ticks(upTo: 10, pid) { v, d in d.cgroup?.path == "/B" && v[.memoryLimit] == Double(100 << 20) }
        #expect(n != nil, "the memory move was not followed within 10 ticks")
        #expect((n ?? 0) > 1, "/proc/PID/cgroup is compared once a second, not on every tick")
        #expect(driver.log.all.contains { $0.contains("pid 42 moved") && $0.contains("memory /A → /B") }, "\(driver.log.all)")
        #expect(driver.tick(pid).0[.memoryCurrent] == Double(20 << 20))

        try f.place(memory: "/B", cpu: "/B")
        #expect(driver.ticks(upTo: 10, pid) { v, _ in v[.cpuLimit] == 0.5 } != nil, "the CPU move was not followed within 10 ticks")
        #expect(driver.log.all.contains { $0.contains("cpu /A → /B") && $0.contains("cpuacct /A → /B") })
    }

    /// Issue 11 item 19 and issue 12 item 2: the target's cgroup disappears (here: it is moved to
    /// one whose directory is gone) — the limit is unavailable with the reason, never the host's
    /// RAM; when the cgroup is there again it is found within a second.
    @Test func aCgroupThatDisappearsHasNoLimitAndIsFoundAgain() throws {
        let f = try HybridCgroupFixture()
        try f.cgroup("/A", limit: 200 << 20, quotaUs: -1, usage: 10 << 20)
        try f.place(memory: "/A", cpu: "/A")
        let driver = try WatcherDriver(paths: f.paths)
        let pid = HybridCgroupFixture.pid
        _ = driver.tick(pid)
        try f.place(memory: "/C", cpu: "/C")
        #expect(driver.ticks(upTo: 10, pid) { _, d in d.cgroup?.path == "/C" } != nil)
        let (values, detail) = driver.tick(pid)
        #expect(values[.memoryLimit] == nil && detail.limitSource == nil)
        #expect(detail.unavailable[.memoryLimit]?.contains("memory/C/memory.limit_in_bytes") == true, "\(detail.unavailable[.memoryLimit] ?? "-")")
        #expect(detail.unavailable[.memoryCurrent]?.contains("No such file") == true)
        #expect(driver.log.all.contains { $0.hasPrefix("warning") && $0.contains("cannot be read") })

        try f.cgroup("/C", limit: 150 << 20, quotaUs: 25000, usage: 30 << 20)
        let n = driver.ticks(upTo: 10, pid) { v, _ in v[.memoryLimit] == Double(150 << 20) && v[.cpuLimit] == 0.25 }
        #expect(n != nil, "the re-made cgroup was not found within 10 ticks")
        #expect(driver.log.all.contains { $0.contains("can be read again") })
    }

    /// A restarted target (new pid) in the same cgroup keeps the readers: the cgroup's CPU rate has
    /// no gap, since its counters are the cgroup's.
    @Test func aNewTargetInTheSameCgroupKeepsTheCPURate() throws {
        let f = try HybridCgroupFixture()
        try f.cgroup("/A", limit: 200 << 20, quotaUs: -1, usage: 10 << 20)
        try f.place(memory: "/A", cpu: "/A")
        try f.write("proc/43/cgroup", "4:memory:/A\n2:cpuacct:/A\n1:cpu:/A\n0::/\n")
        let driver = try WatcherDriver(paths: f.paths)
        _ = driver.tick(42)
        #expect(driver.tick(42).0[.cgroupCPU] != nil)
        #expect(driver.tick(43, generation: 2).0[.cgroupCPU] != nil)
    }

    /// `memory_interval_peak_exact` per sample (issues 13 and 15): 1 when the interval peak is
    /// exact, 0 when it is a lower bound, absent (with the interval peak's reason) when there is
    /// no interval peak. On v1 it is exact when the lifetime peak rose during the interval.
    @Test func theIntervalPeaksExactnessIsAMetricOfEverySample() throws {
        let f = try HybridCgroupFixture()
        try f.cgroup("/A", limit: 200 << 20, quotaUs: -1, usage: 10 << 20)
        try f.place(memory: "/A", cpu: "/A")
        let driver = try WatcherDriver(paths: f.paths)
        let pid = HybridCgroupFixture.pid
        // The first reading has no earlier lifetime peak to compare with: a lower bound.
        var (values, detail) = driver.tick(pid)
        #expect(values[.memoryIntervalPeak] == Double(10 << 20) && values[.memoryIntervalPeakExact] == 0)
        #expect(detail.intervalPeakExact == false)
        // The lifetime peak rose in this interval: exact.
        try f.write("sys/fs/cgroup/memory/A/memory.max_usage_in_bytes", "\(50 << 20)\n")
        (values, detail) = driver.tick(pid)
        #expect(values[.memoryIntervalPeak] == Double(50 << 20) && values[.memoryIntervalPeakExact] == 1)
        #expect(detail.intervalPeakExact == true)
        // It did not rise again: a lower bound.
        (values, _) = driver.tick(pid)
        #expect(values[.memoryIntervalPeak] == Double(10 << 20) && values[.memoryIntervalPeakExact] == 0)
        // No interval peak (the cgroup's files are gone): absent, never 0, with the same reason.
        try f.place(memory: "/gone", cpu: "/A")
        #expect(driver.ticks(upTo: 10, pid) { _, d in d.cgroup?.path == "/gone" } != nil)
        (values, detail) = driver.tick(pid)
        #expect(values[.memoryIntervalPeak] == nil && values[.memoryIntervalPeakExact] == nil)
        #expect(detail.unavailable[.memoryIntervalPeakExact] != nil)
        #expect(detail.unavailable[.memoryIntervalPeakExact] == detail.unavailable[.memoryIntervalPeak])
    }
}

/// The watcher on real v1 cgroups (root): the moves and removals of issue 11 items 18 and 19,
/// as the issue made them.
@Suite(.serialized) struct RealCgroupWatcherTests {
    static let canRun = RealSystem.skipNote(RealSystem.v1CgroupUnavailableReason, "RealCgroupWatcherTests")

    @Test(.enabled(if: canRun))
    func followsATargetMovedToAnotherCgroup() throws {
        let a = try TestCgroup(limitBytes: 200 << 20)
        let b = try TestCgroup(limitBytes: 100 << 20)
        try b.write("cpu.cfs_quota_us", "50000", controller: "cpu")
        let target = try TestProcess(shell: "\(a.enterCommand) && exec sleep 600")
        #expect(RealSystem.poll(seconds: 10) { a.pids().contains(target.pid) })
        let driver = try WatcherDriver()
        let (first, detail) = driver.tick(target.pid)
        #expect(detail.cgroup?.path == a.cgroupPath)
        #expect(first[.memoryLimit] == Double(200 << 20))

        try b.move(target.pid, controllers: ["memory"])
        #expect(driver.ticks(upTo: 10, target.pid) { v, d in d.cgroup?.path == b.cgroupPath && v[.memoryLimit] == Double(100 << 20) } != nil)
        #expect(driver.log.all.contains { $0.contains("moved") && $0.contains("memory \(a.cgroupPath) → \(b.cgroupPath)") }, "\(driver.log.all)")

        try b.move(target.pid, controllers: ["cpu", "cpuacct"])
        #expect(driver.ticks(upTo: 10, target.pid) { v, _ in v[.cpuLimit] == 0.5 } != nil)
        #expect(driver.tick(target.pid).0[.cgroupCPU] != nil, "CPU is read in the new cgroup")
    }

    @Test(.enabled(if: canRun))
    func aRemovedConfiguredCgroupHasNoLimitAndIsFoundWhenMadeAgain() throws {
        let a = try TestCgroup(limitBytes: 200 << 20)
        let driver = try WatcherDriver(override: a.cgroupPath)
        #expect(driver.tick(nil).0[.memoryLimit] == Double(200 << 20))

        try a.remove()
        let (values, detail) = driver.tick(nil)
        #expect(values[.memoryLimit] == nil, "a removed cgroup's limit became \(values[.memoryLimit] ?? 0) (\(detail.limitSource ?? "-"))")
        let reason = try #require(detail.unavailable[.memoryLimit])
        #expect(reason.contains("memory.limit_in_bytes") && reason.contains("No such device"), "\(reason)")
        #expect(values[.memoryCurrent] == nil)

        try a.recreate(limitBytes: 150 << 20)
        #expect(driver.ticks(upTo: 10, nil) { v, _ in v[.memoryLimit] == Double(150 << 20) && v[.memoryCurrent] != nil } != nil)
    }

    @Test(.enabled(if: canRun))
    func findsTheTargetAgainInARemadeCgroup() throws {
        let a = try TestCgroup(limitBytes: 200 << 20)
        let b = try TestCgroup(limitBytes: nil)
        let target = try TestProcess(shell: "\(a.enterCommand) && exec sleep 600")
        #expect(RealSystem.poll(seconds: 10) { a.pids().contains(target.pid) })
        let driver = try WatcherDriver()
        _ = driver.tick(target.pid)

        // All within one tick: the held files of the old /A fail, so it is looked up again.
        try b.move(target.pid)
        try a.remove()
        try a.recreate(limitBytes: 120 << 20)
        try a.move(target.pid)
        let (values, detail) = driver.tick(target.pid)
        #expect(values[.memoryLimit] == nil || values[.memoryLimit] == Double(120 << 20), "\(detail.limitSource ?? "-")")
        #expect(driver.ticks(upTo: 10, target.pid) { v, d in d.cgroup?.path == a.cgroupPath && v[.memoryLimit] == Double(120 << 20) } != nil)
    }
}
