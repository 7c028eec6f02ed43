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
    }
    let store = Store()
    let loop: SamplingLoop

    init(target: TargetSpec) throws {
        let sampler = try Sampler(configuration: SamplerConfiguration(target: target, fallbackPid: getpid()))
        let store = self.store
        loop = SamplingLoop(sampler: sampler, intervalNanos: 100_000_000) { sample, detail in
            store.latest.withLock { $0 = (sample, detail) }
            store.all.withLock { $0.append(sample) }
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

        // One worker burns a core: ~1 core of tree CPU (a shared 2-core host gives it at least 0.6).
        try tree.command("w0", "burn")
        #expect(recorder.waitFor { s, _ in (s.values[.treeCPU] ?? 0) >= 0.6 && (s.values[.cgroupCPU] ?? 0) >= 0.6 },
                "tree CPU \(String(describing: recorder.sample?.values[.treeCPU]))")
        #expect((recorder.sample?.values[.treeCPU] ?? 9) <= 1.6, "one burning worker cannot use much more than one core")
        let burner = recorder.detail?.processes.first { $0.pid == tree.workers[0] }
        #expect((burner?.cpuCores ?? 0) >= 0.5)
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

    @Test(.enabled(if: canRun))
    func withoutATargetItKeepsSamplingItsOwnCgroup() throws {
        let recorder = try Recorder(target: .pid(Int32.max - 7))
        #expect(recorder.waitFor { _, _ in true })
        let (s, d) = try #require(recorder.latest)
        #expect(!d.target.found)
        #expect(d.target.message?.contains("\(Int32.max - 7)") == true)
        #expect(s.values[.memoryCurrent] != nil, "the daemon's own cgroup is still sampled")
        #expect(s.values[.treeCPU] == nil && d.unavailable[.treeCPU] != nil)
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
