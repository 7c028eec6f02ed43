import Foundation
import Synchronization
import Testing
import TestSupport
@testable import KernelReaders
import SampleModel
@testable import Sampler

/// Runs a SamplingLoop at 100 ms and keeps what it samples.
final class Recorder: Sendable {
    final class Store: Sendable {
        let latest = Mutex<(Sample, SampleDetail)?>(nil)
        let all = Mutex<[Sample]>([])
        /// Every sample's tree CPU counter (issue 17), where it had one.
        let treeCPU = Mutex<[UInt64]>([])
    }
    let store = Store()
    let loop: SamplingLoop

    init(target: TargetSpec) throws {
        let sampler = try Sampler(configuration: SamplerConfiguration(target: target))
        let store = self.store
        loop = SamplingLoop(sampler: sampler, intervalNanos: 100_000_000) { sample, detail in
            store.latest.withLock { $0 = (sample, detail) }
            store.all.withLock { $0.append(sample) }
            if let ticks = detail.counters.treeCPUTicks { store.treeCPU.withLock { $0.append(ticks) } }
        }
        loop.start()
    }

    deinit { loop.stop() }

    var latest: (Sample, SampleDetail)? { store.latest.withLock { $0 } }
    var first: Sample? { store.all.withLock { $0.first } }
    var detail: SampleDetail? { latest?.1 }
    var sample: Sample? { latest?.0 }

    func waitFor(seconds: Double = 15, _ condition: (Sample, SampleDetail) -> Bool) -> Bool {
        RealSystem.poll(seconds: seconds) {
            guard let (s, d) = latest else { return false }
            return condition(s, d)
        }
    }
}

/// The sampler on a real process tree in a real v1 cgroup, driven by its own timer.
@Suite(.serialized) struct RealSamplerTests {
    static let canRun = RealSystem.skipNote(RealSystem.v1CgroupUnavailableReason, "RealSamplerTests")

    @Test(.enabled(if: canRun))
    func followsTheTreeItsCPUAndMemory() throws {
        let cgroup = try TestCgroup(limitBytes: 1 << 30)
        let tree = try TestTree(workers: 2, in: cgroup)
        let recorder = try Recorder(target: .pid(tree.master))

        #expect(recorder.waitFor { _, d in d.target.found && d.processes.count == 3 })
        let d = try #require(recorder.detail)
        #expect(d.target.rootPid == tree.master)
        #expect(d.cgroup?.path == cgroup.cgroupPath)
        #expect(Set(d.processes.map(\.pid)) == Set([tree.master] + tree.workers))
        #expect(d.processes.first?.role == .master)
        // The first sample has no CPU for the tree: absent, not 0.
        let first = try #require(recorder.first)
        #expect(first.values[.treeCPU] == nil)
        #expect(first.values[.memoryLimit] == Double(1 << 30))

        // One worker burns CPU: whatever share a busy shared host gives it, it is the tree's
        // largest by far (the idle worker wakes every 20 ms), the tree's CPU includes it, and the
        // cgroup's CPU is read too. No absolute share is asserted: the host's load decides it.
        try tree.command("w0", "burn")
        func cores(_ d: SampleDetail, _ pid: Int32) -> Double? { d.processes.first { $0.pid == pid }?.cpuCores }
        #expect(recorder.waitFor { s, d in
            guard let burner = cores(d, tree.workers[0]), let idle = cores(d, tree.workers[1]),
                  let treeCPU = s.values[.treeCPU] else { return false }
            return burner > 10 * idle && treeCPU >= burner && (s.values[.cgroupCPU] ?? 0) > 0
        }, "tree CPU \(String(describing: recorder.sample?.values[.treeCPU])), processes \(recorder.detail?.processes.map { ($0.pid, $0.cpuCores) } ?? [])")
        let ncpu = Double(ProcessInfo.processInfo.activeProcessorCount)
        #expect((recorder.sample?.values[.treeCPU] ?? 99) <= ncpu + 0.5, "no more CPU than the host has")
        try tree.command("w0", "")

        // Memory allocated by the tree shows up in current, peak and tree RSS.
        let before = try #require(recorder.sample?.values[.memoryCurrent])
        try tree.command("w1", "alloc 96")
        #expect(recorder.waitFor { s, _ in (s.values[.memoryCurrent] ?? 0) >= before + Double(90 << 20) })
        let s = try #require(recorder.sample)
        #expect((s.values[.memoryPeak] ?? 0) >= (s.values[.memoryCurrent] ?? .infinity))
        #expect((s.values[.treeRSS] ?? 0) >= Double(96 << 20))
        #expect((s.values[.memoryWorkingSet] ?? 0) >= Double(90 << 20))
    }

    @Test(.enabled(if: canRun))
    func followsReplacedWorkersAndAnExecOfTheRoot() throws {
        let cgroup = try TestCgroup(limitBytes: nil)
        let tree = try TestTree(workers: 2, in: cgroup)
        let recorder = try Recorder(target: .pid(tree.master))
        #expect(recorder.waitFor { _, d in d.processes.count == 3 })
        let generation = try #require(recorder.detail?.target.generation)

        try tree.command("w0", "exit")
        let line = try #require(tree.nextLine())
        let parts = line.split(separator: " ").compactMap { Int32($0) }
        try #require(parts.count == 2, "unexpected line \(line)")
        let (old, new) = (parts[0], parts[1])
        #expect(recorder.waitFor { _, d in
            let pids = Set(d.processes.map(\.pid))
            return pids.contains(new) && !pids.contains(old) && pids.count == 3
        })

        try tree.command("master", "exec")
        #expect(recorder.waitFor { _, d in d.processes.first?.cmdline.last == "after-exec" })
        let d = try #require(recorder.detail)
        #expect(d.target.rootPid == tree.master, "exec keeps the pid")
        #expect(d.target.generation == generation + 1, "an exec of the root is a new generation")
        #expect(d.processes.count == 3, "the workers survive the master's exec")
    }

    /// What a worker spawns is below the level re-read every tick: it must still join the tree
    /// (at the latest at the next once-a-second read) and leave it when it exits.
    @Test(.enabled(if: canRun))
    func followsWhatWorkersSpawnAndDropsItWhenItExits() throws {
        let cgroup = try TestCgroup(limitBytes: nil)
        let tree = try TestTree(workers: 1, in: cgroup)
        let recorder = try Recorder(target: .pid(tree.master))
        #expect(recorder.waitFor { _, d in d.processes.count == 2 })

        try tree.command("w0", "spawn")
        var grandchild: Int32?
        #expect(RealSystem.poll(seconds: 10) { grandchild = tree.spawned(by: 0); return grandchild != nil })
        let pid = try #require(grandchild)
        #expect(recorder.waitFor { _, d in d.processes.contains { $0.pid == pid && $0.ppid == tree.workers[0] } && d.processes.count == 3 })

        try tree.command("w0", "unspawn")
        #expect(recorder.waitFor { _, d in !d.processes.contains { $0.pid == pid } && d.processes.count == 2 })
    }

    /// Issue 11 item 6: without a target, no cgroup stands in for the target's (the daemon's own
    /// was reported as DRUM's, under the target's generation).
    @Test(.enabled(if: canRun))
    func withoutATargetNothingIsSampledUnderATargetsName() throws {
        let cgroup = try TestCgroup(limitBytes: 300 << 20)
        let tree = try TestTree(workers: 1, in: cgroup)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dm-pidfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pidfile = dir.appendingPathComponent("drum.pid").path
        try "\(tree.master)\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        let recorder = try Recorder(target: .pidfile(pidfile))
        #expect(recorder.waitFor { s, d in d.target.rootPid == tree.master && s.values[.memoryLimit] == Double(300 << 20) })
        let attached = try #require(recorder.sample)

        try "garbage\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        #expect(recorder.waitFor { _, d in !d.target.found })
        // Every sample after the target went away: no cgroup figures, and a generation of its own.
        let after = recorder.store.all.withLock { $0.filter { $0.sequence > attached.sequence && $0.generation != attached.generation } }
        try #require(!after.isEmpty)
        for s in after {
            #expect(s.values[.memoryCurrent] == nil && s.values[.memoryLimit] == nil, "sample \(s.sequence) has cgroup figures without a target")
        }
        let (s, d) = try #require(recorder.latest)
        #expect(s.generation > attached.generation)
        #expect(d.target.message?.contains("garbage") == true)
        #expect(d.unavailable[.memoryCurrent] != nil && d.cgroup == nil)
        #expect(s.values[.treeCPU] == nil && d.unavailable[.treeCPU] != nil)
    }

    /// Issue 11 item 5, as the issue ran it: a process given the watched pid after it exited.
    @Test(.enabled(if: canRun))
    func aReusedPidIsNotReattached() throws {
        let first = try TestProcess(shell: "exec sleep 1")
        let pid = first.pid
        let recorder = try Recorder(target: .pid(pid))
        #expect(recorder.waitFor { _, d in d.target.rootPid == pid })
        let generation = try #require(recorder.detail?.target.generation)
        first.process.waitUntilExit()
        #expect(recorder.waitFor { _, d in !d.target.found })

        // Give pid `pid` to an impostor (ns_last_pid is the last pid handed out).
        var impostor: TestProcess?
        for _ in 0..<20 where impostor == nil {
            try "\(pid - 1)".write(toFile: "/proc/sys/kernel/ns_last_pid", atomically: false, encoding: .utf8)
            let p = try TestProcess(shell: "exec -a IMPOSTER sleep 20")
            if p.pid == pid { impostor = p }
        }
        try #require(impostor != nil, "could not get pid \(pid) reused")
        let seen = recorder.store.all.withLock { $0.count }
        #expect(recorder.waitFor { _, _ in recorder.store.all.withLock { $0.count } >= seen + 5 })
        let (s, d) = try #require(recorder.latest)
        #expect(!d.target.found, "the impostor with pid \(pid) is not the target")
        #expect(d.target.message?.contains("pid \(pid) exited") == true, "\(d.target.message ?? "nil")")
        #expect(s.generation > generation)
    }

    @Test(.enabled(if: canRun))
    func attachesWhenTheTargetAppearsAndFollowsARestart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dm-pidfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pidfile = dir.appendingPathComponent("drum.pid").path
        let recorder = try Recorder(target: .pidfile(pidfile))
        #expect(recorder.waitFor { _, d in !d.target.found && d.target.message?.contains(pidfile) == true })

        let first = try TestProcess(shell: "exec sleep 600")
        try "\(first.pid)\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        #expect(recorder.waitFor { _, d in d.target.rootPid == first.pid })
        let generation = try #require(recorder.detail?.target.generation)

        let second = try TestProcess(shell: "exec sleep 600")
        kill(first.pid, SIGKILL)
        try "\(second.pid)\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        #expect(recorder.waitFor { _, d in d.target.rootPid == second.pid })
        #expect((recorder.detail?.target.generation ?? 0) > generation)
    }
}
